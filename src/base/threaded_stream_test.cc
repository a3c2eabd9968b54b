#include "base/threaded_stream.h"

#include <gtest/gtest.h>

#include <random>

#include "base/mem_stream.h"

namespace keepsake {
namespace {

std::string TestData(size_t size) {
  std::mt19937 rng(3);
  std::string s(size, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Fails with kIoError after `limit` bytes.
class FailingSource final : public ByteSource {
 public:
  FailingSource(std::string_view data, size_t limit) : inner_(data.substr(0, limit)) {}
  Result<size_t> Read(std::span<std::byte> buf) override {
    ASSIGN_OR_RETURN(size_t n, inner_.Read(buf));
    if (n == 0) return Status::IoError("disk gone");
    return n;
  }

 private:
  StringSource inner_;
};

class FailingSink final : public ByteSink {
 public:
  explicit FailingSink(size_t limit) : limit_(limit) {}
  Status Write(std::span<const std::byte> data) override {
    written_ += data.size();
    if (written_ > limit_) return Status::NoSpace("full");
    return Status();
  }
  Status Finish() override { return Status(); }

 private:
  size_t limit_;
  size_t written_ = 0;
};

const PipeOptions kSmallBlocks{1000, 3};

TEST(ThreadedStreamTest, SourceDeliversEveryByteInOrder) {
  std::string data = TestData(123457);
  StringSource in(data);
  ThreadedSource threaded(in, kSmallBlocks);
  std::string out;
  char buf[777];
  for (;;) {
    auto n = threaded.Read(std::as_writable_bytes(std::span(buf)));
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    out.append(buf, *n);
  }
  EXPECT_EQ(out, data);
}

TEST(ThreadedStreamTest, SourceReportsUpstreamErrorAfterTheDataBeforeIt) {
  std::string data = TestData(5000);
  FailingSource in(data, 2500);
  ThreadedSource threaded(in, kSmallBlocks);
  std::string out;
  char buf[100];
  Status st;
  for (;;) {
    auto n = threaded.Read(std::as_writable_bytes(std::span(buf)));
    if (!n.ok()) {
      st = n.status();
      break;
    }
    ASSERT_NE(*n, 0u) << "end of stream instead of the error";
    out.append(buf, *n);
  }
  EXPECT_EQ(st.code(), ErrorCode::kIoError);
  EXPECT_EQ(out, data.substr(0, 2000));  // whole blocks before the failing one
}

TEST(ThreadedStreamTest, SourceCanBeAbandonedMidStream) {
  std::string data = TestData(100000);
  StringSource in(data);
  ThreadedSource threaded(in, kSmallBlocks);
  char buf[10];
  ASSERT_TRUE(threaded.Read(std::as_writable_bytes(std::span(buf))).ok());
  // Destruction must stop and join the worker without reading the rest.
}

TEST(ThreadedStreamTest, SinkDeliversEveryByteInOrderThenFinishes) {
  std::string data = TestData(54321);
  StringSink out;
  ThreadedSink threaded(out, kSmallBlocks);
  for (size_t pos = 0; pos < data.size(); pos += 333) {
    ASSERT_TRUE(threaded.Write(AsBytes(std::string_view(data).substr(pos, 333))).ok());
  }
  ASSERT_TRUE(threaded.Finish().ok());
  EXPECT_EQ(out.data(), data);
}

TEST(ThreadedStreamTest, SinkReportsDownstreamErrorOnALaterCall) {
  FailingSink out(2500);
  ThreadedSink threaded(out, kSmallBlocks);
  std::string block(1000, 'x');
  Status st;
  for (int i = 0; i < 50 && st.ok(); ++i) st = threaded.Write(AsBytes(block));
  if (st.ok()) st = threaded.Finish();
  EXPECT_EQ(st.code(), ErrorCode::kNoSpace);
}

}  // namespace
}  // namespace keepsake
