// Driver for bench/nfs_bench.sh: writes MIB MiB of incompressible data through the NFS
// backend (storage::OpenNfsBackend) once per value of NfsOptions::writes_in_flight, RUNS
// times, interleaved so that noise hits every setting alike; reads each file back through
// the backend to check it, removes it, and prints one line per write and a median summary.
//
// Usage: nfs_write_bench URL MIB RUNS IN_FLIGHT...
//   e.g. nfs_write_bench nfs://127.0.0.1:2049/rw 256 3 1 32
// The timed part is NewWriter, the Appends (1 MiB each) and Commit (COMMIT, LINK, REMOVE).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/sha256.h"
#include "storage/nfs_backend.h"

namespace {

using keepsake::Sha256;
using keepsake::Status;
namespace storage = keepsake::storage;

constexpr size_t kAppend = 1 << 20;

int Fail(const std::string& what, const Status& st) {
  std::fprintf(stderr, "nfs_write_bench: %s: %s\n", what.c_str(), st.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s URL MIB RUNS IN_FLIGHT...\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const size_t mib = std::strtoull(argv[2], nullptr, 10);
  const int runs = std::atoi(argv[3]);
  std::vector<int> settings;
  for (int i = 4; i < argc; ++i) settings.push_back(std::atoi(argv[i]));

  std::vector<std::byte> data(mib << 20);
  std::mt19937_64 rng(6);
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  Sha256 sha;
  sha.Update(data);
  const std::string want = sha.FinalHex();

  std::map<int, std::vector<double>> seconds;
  for (int run = 1; run <= runs; ++run) {
    for (int k : settings) {
      storage::NfsOptions options;
      options.writes_in_flight = k;
      auto backend = storage::OpenNfsBackend(url, options);
      if (!backend.ok()) return Fail("open", backend.status());
      const std::string name = fmt::format("nfs-bench-{}-{}.bin", k, run);
      const auto start = std::chrono::steady_clock::now();
      {
        auto writer = (*backend)->NewWriter(name);
        if (!writer.ok()) return Fail("NewWriter", writer.status());
        for (size_t done = 0; done < data.size(); done += kAppend) {
          size_t n = std::min(kAppend, data.size() - done);
          if (Status st = (*writer)->Append(std::span(data).subspan(done, n)); !st.ok()) return Fail("Append", st);
        }
        if (Status st = (*writer)->Commit(); !st.ok()) return Fail("Commit", st);
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      auto reader = (*backend)->NewReader(name);
      if (!reader.ok()) return Fail("NewReader", reader.status());
      std::vector<std::byte> buf(1 << 20);
      uint64_t total = 0;
      for (;;) {
        auto n = (*reader)->Read(buf);
        if (!n.ok()) return Fail("Read", n.status());
        if (*n == 0) break;
        sha.Update(std::span(buf).first(*n));
        total += *n;
      }
      reader->reset();
      const std::string got = sha.FinalHex();
      if (Status st = (*backend)->Remove(name); !st.ok()) return Fail("Remove", st);
      if (total != data.size() || got != want) {
        std::fprintf(stderr, "nfs_write_bench: %s read back %llu bytes, sha256 %s, want %zu bytes, %s\n",
                     name.c_str(), static_cast<unsigned long long>(total), got.c_str(), data.size(), want.c_str());
        return 1;
      }
      seconds[k].push_back(s);
      std::printf("run %d  in_flight %3d  %7.2f s  %7.1f MB/s  (read back, sha256 ok)\n", run, k, s,
                  static_cast<double>(data.size()) / 1e6 / s);
      std::fflush(stdout);
    }
  }
  std::printf("\n| writes in flight | median s | MB/s | runs (s) |\n|---:|---:|---:|---|\n");
  for (int k : settings) {
    std::vector<double> v = seconds[k];
    std::sort(v.begin(), v.end());
    const double median = v[v.size() / 2];
    std::string all;
    for (double s : seconds[k]) all += fmt::format("{}{:.2f}", all.empty() ? "" : ", ", s);
    std::printf("| %d | %.2f | %.1f | %s |\n", k, median, static_cast<double>(data.size()) / 1e6 / median,
                all.c_str());
  }
  return 0;
}
