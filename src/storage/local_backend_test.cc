#include "storage/local_backend.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "storage/backend.h"
#include "storage/conformance/backend_conformance.h"

namespace keepsake::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string MakeTempDir() {
  char tmpl[] = "/tmp/ks_storage_XXXXXX";
  const char* dir = mkdtemp(tmpl);
  return dir != nullptr ? dir : "";
}

Status WriteRaw(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return Status::IoError(fmt::format("{}: cannot write", path));
  return Status();
}

// A temp directory as a store. Read-only stores are a read-only bind mount when running as
// root (root ignores mode bits) and a mode 0555 directory otherwise; small stores are a
// size-limited tmpfs. Mounts need CAP_SYS_ADMIN; without it, open() says so and the case
// skips.
class LocalStore final : public conformance::BackendUnderTest {
 public:
  static Result<std::unique_ptr<conformance::BackendUnderTest>> Open(const conformance::StoreOptions& options) {
    auto store = std::unique_ptr<LocalStore>(new LocalStore());
    RETURN_IF_ERROR(store->SetUp(options));
    return std::unique_ptr<conformance::BackendUnderTest>(std::move(store));
  }

  ~LocalStore() override {
    backend_.reset();
    if (!read_only_mount_.empty()) umount2(read_only_mount_.c_str(), MNT_DETACH);
    if (tmpfs_mounted_) umount2(root_.c_str(), MNT_DETACH);
    if (!root_.empty()) chmod(root_.c_str(), 0700);
    std::error_code ec;
    // remove_all does not follow symlinks: the escape tests' links to /etc are safe.
    if (!base_.empty()) fs::remove_all(base_, ec);
  }

  Backend& backend() override { return *backend_; }

  Status PutRaw(std::string_view path, std::string_view data) override {
    return WriteRaw(fmt::format("{}/{}", root_, path), data);
  }

  Status MakeSymlink(std::string_view path, std::string_view target) override {
    std::string link = fmt::format("{}/{}", root_, path);
    if (symlink(std::string(target).c_str(), link.c_str()) != 0) return StatusFromErrno(errno, link);
    return Status();
  }

 private:
  LocalStore() = default;

  Status SetUp(const conformance::StoreOptions& options) {
    base_ = MakeTempDir();
    if (base_.empty()) return StatusFromErrno(errno, "mkdtemp");
    root_ = base_ + "/root";
    if (mkdir(root_.c_str(), 0700) != 0) return StatusFromErrno(errno, root_);
    if (options.capacity_bytes > 0) {
      std::string data = fmt::format("size={},mode=0700", options.capacity_bytes);
      if (mount("tmpfs", root_.c_str(), "tmpfs", 0, data.c_str()) != 0) {
        return Status::NotSupported(
            fmt::format("a size-limited tmpfs needs CAP_SYS_ADMIN: mount: {}", std::strerror(errno)));
      }
      tmpfs_mounted_ = true;
    }
    for (const auto& [path, content] : options.files) RETURN_IF_ERROR(PutRaw(path, content));
    std::string backend_dir = root_;
    if (options.read_only) {
      if (geteuid() != 0) {
        if (chmod(root_.c_str(), 0555) != 0) return StatusFromErrno(errno, root_);
      } else {
        std::string ro = base_ + "/ro";
        if (mkdir(ro.c_str(), 0700) != 0) return StatusFromErrno(errno, ro);
        if (mount(root_.c_str(), ro.c_str(), nullptr, MS_BIND, nullptr) != 0) {
          return Status::NotSupported(
              fmt::format("running as root, a read-only store needs a read-only bind mount (CAP_SYS_ADMIN): mount: {}",
                          std::strerror(errno)));
        }
        read_only_mount_ = ro;
        if (mount(nullptr, ro.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
          return Status::NotSupported(fmt::format("remounting the bind mount read-only: {}", std::strerror(errno)));
        }
        backend_dir = ro;
      }
    }
    ASSIGN_OR_RETURN(backend_, OpenLocalBackend(backend_dir));
    return Status();
  }

  std::string base_;             // the temp dir holding everything
  std::string root_;             // the writable store directory
  std::string read_only_mount_;  // read-only bind mount of root_, if any
  bool tmpfs_mounted_ = false;
  std::unique_ptr<Backend> backend_;
};

conformance::BackendFixture LocalFixture() {
  conformance::BackendFixture fixture;
  fixture.name = "Local";
  fixture.open = LocalStore::Open;
  fixture.supports_symlinks = true;
  fixture.can_make_read_only = true;
  fixture.can_fill_up = true;
  return fixture;
}

using conformance::BackendConformanceTest;

INSTANTIATE_TEST_SUITE_P(Local, BackendConformanceTest, ::testing::Values(LocalFixture()),
                         conformance::BackendFixtureName);

// ---------------------------------------------------------------------------------------
// Local-only behaviour

class LocalBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Url() const { return "file://" + dir_; }

  std::string dir_;
};

TEST_F(LocalBackendTest, OpenBackendOpensAFileUrl) {
  auto backend = OpenBackend(Url());
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  auto writer = (*backend)->NewWriter("a.ksb");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(AsBytes("data")).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_TRUE(fs::is_regular_file(dir_ + "/a.ksb"));
}

TEST_F(LocalBackendTest, OpenBackendAcceptsATrailingSlashAndAnyCaseScheme) {
  auto backend = OpenBackend("FILE://" + dir_ + "/");
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  EXPECT_TRUE((*backend)->Stat("").ok());
}

TEST_F(LocalBackendTest, MissingDirectoryIsNotFound) {
  auto backend = OpenBackend(Url() + "/missing");
  EXPECT_EQ(backend.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(backend.status().message(), Url() + "/missing: directory does not exist");
}

TEST_F(LocalBackendTest, FileInsteadOfDirectoryIsInvalid) {
  ASSERT_TRUE(WriteRaw(dir_ + "/file", "x").ok());
  auto backend = OpenBackend(Url() + "/file");
  EXPECT_EQ(backend.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(backend.status().message(), HasSubstr("not a directory"));
}

TEST_F(LocalBackendTest, RelativeRootIsInvalid) {
  EXPECT_EQ(OpenLocalBackend("srv/backups").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(OpenLocalBackend("").status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(LocalBackendTest, RootBelowIsResolvedInsideAndNamedByTheDisplayUrl) {
  fs::create_directories(dir_ + "/keepsake/daily");
  auto backend = OpenLocalBackend(dir_, "usb://BACKUP", "keepsake");
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  auto listed = (*backend)->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().name, "daily");
  auto missing = (*backend)->Stat("nope");
  EXPECT_THAT(missing.status().message(), ::testing::HasSubstr("usb://BACKUP/keepsake/nope"));
}

TEST_F(LocalBackendTest, RootBelowCannotLeaveThroughASymlink) {
  // A drive is untrusted content: a symlink on it must not make "/" the storage.
  fs::create_symlink("/", dir_ + "/escape");
  fs::create_directories(dir_ + "/a");
  fs::create_directory_symlink("../..", dir_ + "/a/up");
  for (const char* below : {"escape", "a/up", "..", "/etc"}) {
    auto backend = OpenLocalBackend(dir_, "usb://BACKUP", below);
    EXPECT_EQ(backend.status().code(), ErrorCode::kInvalidArgument) << below;
  }
  EXPECT_EQ(OpenLocalBackend(dir_, "usb://BACKUP", "missing").status().code(), ErrorCode::kNotFound);
}

TEST(JoinStorageUrlTest, PutsThePathBeforeAnNfsQueryOnly) {
  EXPECT_EQ(JoinStorageUrl("nfs://nas/exp?version=4.1", "a/b").value(), "nfs://nas/exp/a/b?version=4.1");
  EXPECT_EQ(JoinStorageUrl("NFS://nas/exp/?version=4", "a").value(), "NFS://nas/exp/a?version=4");
  EXPECT_EQ(JoinStorageUrl("usb://A?B", "dir").value(), "usb://A?B/dir");  // '?' is part of the label
  EXPECT_EQ(JoinStorageUrl("file:///srv/", "x").value(), "file:///srv/x");
  EXPECT_EQ(JoinStorageUrl("file:///srv", "").value(), "file:///srv");
  EXPECT_EQ(JoinStorageUrl("file:///srv", "../etc").status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(LocalBackendTest, BadUrlsAreInvalidAndNamed) {
  for (const char* url : {"/srv/backups", "ftp://host/backups", "file://relative/dir", "file:/srv", "file://",
                          "file:///a/../b", "file:///a//b", "file:///a/./b", "nfs://", "://x"}) {
    auto backend = OpenBackend(url);
    EXPECT_EQ(backend.status().code(), ErrorCode::kInvalidArgument) << url;
    EXPECT_THAT(backend.status().message(), HasSubstr(url));
  }
  EXPECT_EQ(OpenBackend("").status().code(), ErrorCode::kInvalidArgument);
}

TEST(StorageUrlTest, NormalizeGivesTheCanonicalForm) {
  EXPECT_EQ(*NormalizeStorageUrl("FILE:///srv/backups/"), "file:///srv/backups");
  EXPECT_EQ(*NormalizeStorageUrl("file:///srv/backups"), "file:///srv/backups");
  EXPECT_EQ(*NormalizeStorageUrl("file:///"), "file:///");
  EXPECT_EQ(*NormalizeStorageUrl("Nfs://server/export"), "nfs://server/export");
}

TEST_F(LocalBackendTest, MessagesNameTheFileUrl) {
  auto backend = OpenLocalBackend(dir_);
  ASSERT_TRUE(backend.ok());
  Status s = (*backend)->Stat("2025/missing.ksb").status();
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_THAT(s.message(), ::testing::StartsWith(Url() + "/2025/missing.ksb: "));
}

TEST_F(LocalBackendTest, ErrorsCarryTheirErrno) {
  // Callers (the usb backend) classify errors by sys_errno(), never by the message.
  EXPECT_EQ(OpenLocalBackend(dir_ + "/missing").status().sys_errno(), ENOENT);
  auto backend = OpenLocalBackend(dir_);
  ASSERT_TRUE(backend.ok());
  EXPECT_EQ((*backend)->Stat("missing.ksb").status().sys_errno(), ENOENT);
  fs::create_symlink("/etc", dir_ + "/etc");
  EXPECT_EQ((*backend)->Stat("etc").status().sys_errno(), EXDEV);
  ASSERT_TRUE((*backend)->MakeDir("dir").ok());
  ASSERT_TRUE(WriteRaw(dir_ + "/dir/a.ksb", "a").ok());
  EXPECT_EQ((*backend)->Remove("dir").sys_errno(), ENOTEMPTY);
  ASSERT_TRUE(WriteRaw(dir_ + "/b.ksb", "b").ok());
  EXPECT_EQ((*backend)->Rename("b.ksb", "dir/a.ksb").sys_errno(), EEXIST);
}

TEST_F(LocalBackendTest, FilesAndDirectoriesAreOwnerOnly) {
  auto backend = OpenLocalBackend(dir_);
  ASSERT_TRUE(backend.ok());
  ASSERT_TRUE((*backend)->MakeDir("2025").ok());
  auto writer = (*backend)->NewWriter("2025/a.ksb");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/2025/a.ksb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir_ + "/2025").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(LocalBackendTest, PartialIsWrittenNextToTheFinalName) {
  auto backend = OpenLocalBackend(dir_);
  ASSERT_TRUE(backend.ok());
  ASSERT_TRUE((*backend)->MakeDir("d").ok());
  auto writer = (*backend)->NewWriter("d/a.ksb");
  ASSERT_TRUE(writer.ok());
  EXPECT_TRUE(fs::exists(dir_ + "/d/.a.ksb.partial"));
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_FALSE(fs::exists(dir_ + "/d/.a.ksb.partial"));
  EXPECT_TRUE(fs::exists(dir_ + "/d/a.ksb"));
}

TEST_F(LocalBackendTest, AbsoluteSymlinkBackIntoTheRootIsRefusedToo) {
  // openat2(RESOLVE_BENEATH) cannot tell where an absolute link lands without leaving the
  // root, so it refuses them all; relative links inside the root work.
  ASSERT_TRUE(fs::create_directory(dir_ + "/real"));
  fs::create_symlink(dir_ + "/real", dir_ + "/absolute");
  auto backend = OpenLocalBackend(dir_);
  ASSERT_TRUE(backend.ok());
  EXPECT_EQ((*backend)->Stat("absolute").status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(LocalBackendTest, CapacityMatchesTheFileSystem) {
  auto backend = OpenLocalBackend(dir_);
  ASSERT_TRUE(backend.ok());
  auto capacity = (*backend)->GetCapacity();
  ASSERT_TRUE(capacity.ok());
  auto space = fs::space(dir_);
  EXPECT_EQ(capacity->total, space.capacity);
  // Others write to the same file system meanwhile: allow 1 GiB of drift.
  EXPECT_NEAR(static_cast<double>(capacity->free), static_cast<double>(space.available), 1024.0 * 1024 * 1024);
}

// ---------------------------------------------------------------------------------------
// Shared path rules

TEST(StoragePathTest, AcceptsRelativePaths) {
  for (const char* path : {"", ".", "a", "a/b.ksb", ".hidden", "a..b", "...", "2025/12/kp_a.ksb"}) {
    EXPECT_TRUE(CheckPath(path).ok()) << path;
  }
}

TEST(StoragePathTest, RefusesEscapesAndOddPathsNamingThem) {
  for (const char* path : {"..", "../x", "/etc", "a/../../b", "a/..", "a//b", "a/", "./a", "a/./b", "/"}) {
    Status s = CheckPath(path);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << path;
    EXPECT_THAT(s.message(), HasSubstr(fmt::format("\"{}\"", path)));
  }
  Status nul = CheckPath(std::string_view("a\0b", 3));
  EXPECT_EQ(nul.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(nul.message(), HasSubstr("NUL"));
}

TEST(StoragePathTest, JoinPathHandlesTheRoot) {
  EXPECT_EQ(JoinPath("", "a.ksb"), "a.ksb");
  EXPECT_EQ(JoinPath(".", "a.ksb"), "a.ksb");
  EXPECT_EQ(JoinPath("2025", "a.ksb"), "2025/a.ksb");
}

TEST(StoragePathTest, RecognisesPartialNames) {
  EXPECT_TRUE(IsPartialName(".a.ksb.partial"));
  EXPECT_TRUE(IsPartialName(".x.partial"));
  EXPECT_FALSE(IsPartialName("a.ksb.partial"));
  EXPECT_FALSE(IsPartialName(".partial"));
  EXPECT_FALSE(IsPartialName("..partial"));
  EXPECT_FALSE(IsPartialName(".a.ksb"));
}

}  // namespace
}  // namespace keepsake::storage
