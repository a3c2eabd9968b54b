// In-memory ByteSink and ByteSource over a std::string: for headers, tests and small
// payloads. Not thread-safe.
#pragma once

#include <cstring>
#include <string>

#include "base/byte_stream.h"

namespace keepsake {

class StringSink final : public ByteSink {
 public:
  Status Write(std::span<const std::byte> data) override {
    data_.append(reinterpret_cast<const char*>(data.data()), data.size());
    return Status();
  }
  Status Finish() override { return Status(); }
  const std::string& data() const { return data_; }
  std::string& data() { return data_; }

 private:
  std::string data_;
};

class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  Result<size_t> Read(std::span<std::byte> buf) override {
    size_t n = std::min(buf.size(), data_.size() - pos_);
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace keepsake
