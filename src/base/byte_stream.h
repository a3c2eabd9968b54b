// ByteSink and ByteSource: the push and pull ends of every Keepsake data stream.
//
// The backup pipeline is a chain of sinks (tar -> zstd -> seal -> file) and the restore
// pipeline a chain of sources (file -> unseal -> zstd -> tar); each stage owns or borrows
// the next one and holds at most a bounded buffer, so memory does not grow with the size
// of a backup. Not thread-safe: one stream is driven by one thread at a time.
#pragma once

#include <cstddef>
#include <span>

#include "base/status.h"

namespace keepsake {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Consumes all of `data` or fails; after a failure the sink is unusable.
  virtual Status Write(std::span<const std::byte> data) = 0;
  // Flushes everything buffered and ends the stream; Write() is not called afterwards.
  virtual Status Finish() = 0;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to buf.size() bytes; returns 0 only at the end of the stream.
  virtual Result<size_t> Read(std::span<std::byte> buf) = 0;
};

// Reads exactly buf.size() bytes unless the stream ends first; returns the count read.
Result<size_t> ReadFull(ByteSource& source, std::span<std::byte> buf);

inline std::span<const std::byte> AsBytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

}  // namespace keepsake
