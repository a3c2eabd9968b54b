#include "storage/nfs_backend.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/backend.h"
#include "storage/conformance/backend_conformance.h"
#include "storage/nfs_url.h"

namespace keepsake::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kNotSet[] =
    "KEEPSAKE_TEST_NFS_URL is not set: tests/integration/test_storage_nfs.py runs these cases against nfs-ganesha";

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// One export as the environment describes it: its nfs:// URL and, for acting behind the
// backend's back, the server-side directory it exports.
struct Export {
  std::string url;
  std::string dir;
};

// Which export serves a store with `options`; kNotSupported (the case skips) if the
// environment has none. Read-only stores need a read-only export, small stores an export
// of a file system of exactly the requested size.
Result<Export> ChooseExport(const conformance::StoreOptions& options) {
  Export rw{Env("KEEPSAKE_TEST_NFS_URL"), Env("KEEPSAKE_TEST_NFS_EXPORT_DIR")};
  if (rw.url.empty() || rw.dir.empty()) return Status::NotSupported(kNotSet);
  if (options.read_only) {
    Export ro{Env("KEEPSAKE_TEST_NFS_RO_URL"), Env("KEEPSAKE_TEST_NFS_RO_EXPORT_DIR")};
    if (ro.url.empty() || ro.dir.empty()) {
      return Status::NotSupported("KEEPSAKE_TEST_NFS_RO_URL / KEEPSAKE_TEST_NFS_RO_EXPORT_DIR are not set");
    }
    return ro;
  }
  if (options.capacity_bytes > 0) {
    Export small{Env("KEEPSAKE_TEST_NFS_SMALL_URL"), Env("KEEPSAKE_TEST_NFS_SMALL_EXPORT_DIR")};
    if (small.url.empty() || small.dir.empty() ||
        Env("KEEPSAKE_TEST_NFS_SMALL_BYTES") != std::to_string(options.capacity_bytes)) {
      return Status::NotSupported(fmt::format(
          "no export of {} bytes (KEEPSAKE_TEST_NFS_SMALL_URL, _EXPORT_DIR and _BYTES)", options.capacity_bytes));
    }
    return small;
  }
  return rw;
}

// A fresh subdirectory of an export as a store, made and removed on the server side.
Result<std::unique_ptr<conformance::BackendUnderTest>> OpenNfsStore(const conformance::StoreOptions& options) {
  ASSIGN_OR_RETURN(Export exp, ChooseExport(options));
  return conformance::DirectoryStore::Create(exp.dir, options,
                                             [&](const std::string& name) -> Result<std::unique_ptr<Backend>> {
                                               ASSIGN_OR_RETURN(NfsUrl url, ParseNfsUrl(exp.url));
                                               url.path += "/" + name;
                                               return OpenBackend(url.ToString());
                                             });
}

conformance::BackendFixture NfsFixture() {
  conformance::BackendFixture fixture;
  fixture.name = "Nfs";
  fixture.open = OpenNfsStore;
  fixture.supports_symlinks = true;
  fixture.follows_symlinks = false;  // libnfs 4.0 cannot read a symlink safely
  fixture.can_make_read_only = true;
  fixture.can_fill_up = true;
  return fixture;
}

using conformance::BackendConformanceTest;

INSTANTIATE_TEST_SUITE_P(Nfs, BackendConformanceTest, ::testing::Values(NfsFixture()), conformance::BackendFixtureName);

// ---------------------------------------------------------------------------------------
// NFS-only behaviour that needs no server

// A WRITE answered while the producer was busy for longer than the timeout is not taken for
// an unanswered one (reproduced in the browser test: a backup of 12 GiB of zeros to NFS,
// whose compressed stream has long pauses, failed with "did not answer within 15 s").
TEST(NfsBackendTest, AWriterIdleLongerThanTheTimeoutBetweenAppendsStillCommits) {
  auto exp = ChooseExport({});
  if (!exp.ok()) GTEST_SKIP() << exp.status().message();
  auto backend = OpenBackend(exp->url);
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  std::string name = fmt::format("idle-writer-{}", getpid());
  auto writer = (*backend)->NewWriter(name);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::string data(1 << 20, 'k');
  ASSERT_TRUE((*writer)->Append(std::as_bytes(std::span(data.data(), data.size()))).ok());
  std::this_thread::sleep_for(std::chrono::seconds(kNfsTimeoutSeconds + 2));  // WRITEs left in flight
  Status more = (*writer)->Append(std::as_bytes(std::span(data.data(), data.size())));
  EXPECT_TRUE(more.ok()) << more.ToString();
  Status committed = (*writer)->Commit();
  EXPECT_TRUE(committed.ok()) << committed.ToString();
  std::error_code ec;
  EXPECT_EQ(fs::file_size(exp->dir + "/" + name, ec), 2u << 20);
  (void)(*backend)->Remove(name);
}

TEST(NfsBackendTest, Versions41And42AreRefusedSayingWhy) {
  for (const char* version : {"4.1", "4.2"}) {
    std::string url = fmt::format("nfs://127.0.0.1/backups?version={}", version);
    auto backend = OpenBackend(url);
    EXPECT_EQ(backend.status().code(), ErrorCode::kNotSupported);
    EXPECT_THAT(backend.status().message(), HasSubstr(url + ": NFS " + version + " cannot be used on this system"));
    EXPECT_THAT(backend.status().message(), HasSubstr("libnfs 4.0) speaks NFS 4.0 only"));
    EXPECT_THAT(backend.status().message(), HasSubstr("Choose NFS version 4"));
  }
}

TEST(NfsBackendTest, ClosedPortIsUnavailableAtOnce) {
  // A port nobody listens on: bind one, note it, close it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  std::string url = fmt::format("nfs://127.0.0.1:{}/backups", ntohs(addr.sin_port));
  auto start = std::chrono::steady_clock::now();
  auto backend = OpenBackend(url);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(backend.status().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(backend.status().message(), HasSubstr(url + ": the NFS server 127.0.0.1:"));
  EXPECT_THAT(backend.status().message(), HasSubstr("is unreachable"));
}

TEST(NfsBackendTest, BadUrlIsInvalidBeforeAnyConnection) {
  auto backend = OpenBackend("nfs://server/a/../b");
  EXPECT_EQ(backend.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(backend.status().message(), HasSubstr("nfs://server/a/../b"));
}

}  // namespace
}  // namespace keepsake::storage
