#include "archive/zstd_stream.h"

#include <gtest/gtest.h>

#include <random>

#include "base/mem_stream.h"

namespace keepsake::archive {
namespace {

std::string Compress(std::string_view data, int workers) {
  StringSink out;
  auto sink = ZstdCompressSink::Create(out, {3, workers});
  KS_CHECK(sink.ok());
  // Odd write sizes exercise partial buffers.
  for (size_t pos = 0; pos < data.size(); pos += 777) {
    KS_CHECK((*sink)->Write(AsBytes(data.substr(pos, 777))).ok());
  }
  KS_CHECK((*sink)->Finish().ok());
  return out.data();
}

Result<std::string> Decompress(std::string_view data) {
  StringSource in(data);
  ZstdDecompressSource z(in);
  std::string out;
  char buf[1000];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, z.Read(std::as_writable_bytes(std::span(buf))));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

std::string TestData(size_t size) {
  std::mt19937 rng(7);
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = (i % 3 == 0) ? static_cast<char>(rng()) : 'a';
  return s;
}

TEST(ZstdStreamTest, RoundTripSingleAndMultiThreaded) {
  std::string data = TestData(3 << 20);
  for (int workers : {1, 2}) {
    auto back = Decompress(Compress(data, workers));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, data);
  }
}

TEST(ZstdStreamTest, EmptyInputRoundTrips) {
  auto back = Decompress(Compress("", 1));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "");
}

TEST(ZstdStreamTest, TruncatedFrameIsCorruption) {
  std::string z = Compress(TestData(100000), 1);
  auto back = Decompress(std::string_view(z).substr(0, z.size() - 5));
  EXPECT_EQ(back.status().code(), ErrorCode::kCorruption);
}

TEST(ZstdStreamTest, DataAfterTheFrameIsCorruption) {
  std::string z = Compress("hello", 1);
  auto back = Decompress(z + z);
  EXPECT_EQ(back.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(back.status().message().find("after the end"), std::string::npos);
}

}  // namespace
}  // namespace keepsake::archive
