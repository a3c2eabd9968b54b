#include "storage/usb_backend.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/backend.h"
#include "storage/conformance/backend_conformance.h"
#include "storage/usb_drives.h"

namespace keepsake::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------
// The conformance suite on real ext4 and exFAT volumes. tests/integration/test_storage_usb.py
// builds GPT images, attaches them as loop devices and runs these cases with:
//   KEEPSAKE_TEST_USB_LOOPS       the whole-disk loops, comma-separated ("/dev/loop3,/dev/loop4")
//   KEEPSAKE_TEST_USB_MOUNT_DIR   a private mount directory for this process's registry
//   KEEPSAKE_TEST_USB_EXT4_LABEL, KEEPSAKE_TEST_USB_EXFAT_LABEL   the volumes' labels
// This process then runs discovery itself (loops admitted, only those listed) and unmounts
// everything when the tests end.

constexpr const char* kNoLoops =
    "KEEPSAKE_TEST_USB_LOOPS is not set: tests/integration/test_storage_usb.py runs these cases on "
    "loop-device images";

std::string Env(const char* name) {
  const char* v = getenv(name);
  return v != nullptr ? v : "";
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Starts the registry once per process on the loops the integration test gave.
Status StartTestRegistry() {
  static Status started = [] {
    UsbOptions options;
    options.mount_dir = Env("KEEPSAKE_TEST_USB_MOUNT_DIR");
    options.poll_seconds = 0;
    options.admit_loop_devices = true;
    options.only_devices = SplitComma(Env("KEEPSAKE_TEST_USB_LOOPS"));
    options.min_free_bytes = 0;
    if (options.mount_dir.empty()) return Status::NotSupported("KEEPSAKE_TEST_USB_MOUNT_DIR is not set");
    return UsbDrives::Global().Start(options);
  }();
  return started;
}

class UsbEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { UsbDrives::Global().Stop(); }
};
[[maybe_unused]] ::testing::Environment* const kUsbEnvironment =
    ::testing::AddGlobalTestEnvironment(new UsbEnvironment);

// A fresh directory on the volume per store.
Result<std::unique_ptr<conformance::BackendUnderTest>> OpenUsbStore(const char* label_env,
                                                                    const conformance::StoreOptions& options) {
  if (Env("KEEPSAKE_TEST_USB_LOOPS").empty()) return Status::NotSupported(kNoLoops);
  std::string label = Env(label_env);
  if (label.empty()) return Status::NotSupported(fmt::format("{} is not set", label_env));
  RETURN_IF_ERROR(StartTestRegistry());
  ASSIGN_OR_RETURN(std::string mount_point, UsbDrives::Global().MountPointFor(label));
  return conformance::DirectoryStore::Create(mount_point, options, [&](const std::string& name) {
    return OpenUsbBackend(fmt::format("usb://{}/{}", label, name));
  });
}

conformance::BackendFixture UsbFixture(std::string name, const char* label_env, bool symlinks) {
  conformance::BackendFixture fixture;
  fixture.name = std::move(name);
  fixture.open = [label_env](const conformance::StoreOptions& options) { return OpenUsbStore(label_env, options); };
  fixture.supports_symlinks = symlinks;  // exFAT has no symlinks
  return fixture;
}

using conformance::BackendConformanceTest;

INSTANTIATE_TEST_SUITE_P(Usb, BackendConformanceTest,
                         ::testing::Values(UsbFixture("UsbExt4", "KEEPSAKE_TEST_USB_EXT4_LABEL", true),
                                           UsbFixture("UsbExfat", "KEEPSAKE_TEST_USB_EXFAT_LABEL", false)),
                         conformance::BackendFixtureName);

// ---------------------------------------------------------------------------------------
// URLs and errors

TEST(UsbUrlTest, ParsesTheVolumeAndThePath) {
  auto u = ParseUsbUrl("USB://BACKUP/keepsake/appliance1/");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->volume, "BACKUP");
  EXPECT_EQ(u->path, "keepsake/appliance1");
  auto root = ParseUsbUrl("usb://1234-ABCD");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->volume, "1234-ABCD");
  EXPECT_EQ(root->path, "");
}

TEST(UsbUrlTest, NormalizeGivesTheCanonicalForm) {
  EXPECT_EQ(*NormalizeStorageUrl("Usb://My Drive/dir/"), "usb://My Drive/dir");
  EXPECT_EQ(*NormalizeStorageUrl("usb://BACKUP/"), "usb://BACKUP");
}

TEST(UsbUrlTest, BadUrlsAreInvalidAndNamed) {
  for (const char* url : {"usb://", "usb:///dir", "usb://X/../etc", "usb://X/a//b", "usb://X/./a", "usb://X/."}) {
    auto r = OpenBackend(url);
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << url;
    EXPECT_THAT(r.status().message(), HasSubstr(url));
  }
}

TEST(UsbUrlTest, DriveNotAttachedIsUnavailableSayingWhatToDo) {
  UsbDrives none;  // not started: nothing attached
  auto r = OpenUsbBackend("usb://NOSUCHDRIVE/backups", none);
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "usb://NOSUCHDRIVE: no USB drive with label or UUID \"NOSUCHDRIVE\" is attached; attach it (see "
            "docs/STORAGE.md) or pick another");
}

TEST(UsbErrorTest, VanishedDriveErrorsBecomeUnavailable) {
  for (int err : {EIO, ENOTCONN, ENODEV, ENXIO}) {
    Status s = DriveGoneStatus(StatusFromErrno(err, "usb://BACKUP/kp/a.ksb"), "BACKUP");
    EXPECT_EQ(s.code(), ErrorCode::kUnavailable) << err;
    EXPECT_THAT(s.message(),
                ::testing::StartsWith("usb://BACKUP/kp/a.ksb: the USB drive \"BACKUP\" was removed or failed ("));
    EXPECT_THAT(s.message(), HasSubstr(std::strerror(err)));
  }
}

// Classified by the errno the status carries, not by its words: a message that only reads
// like a pulled drive (a file named so, a server's text) is not one, and one worded
// otherwise (with context added in front, or a message of its own) still is.
TEST(UsbErrorTest, ClassifiedByErrnoNotByWording) {
  Status worded_otherwise = std::move(StatusFromErrno(EIO, "usb://BACKUP/a.ksb")).WithContext("writing the backup");
  Status gone = DriveGoneStatus(worded_otherwise, "BACKUP");
  EXPECT_EQ(gone.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(gone.sys_errno(), EIO);
  Status own_words = Status::IoError("usb://BACKUP: the file system went away").WithErrno(ENODEV);
  EXPECT_EQ(DriveGoneStatus(own_words, "BACKUP").code(), ErrorCode::kUnavailable);
  Status only_looks_like_it = Status::IoError(std::string("usb://BACKUP/a.ksb: ") + std::strerror(EIO));
  Status kept = DriveGoneStatus(only_looks_like_it, "BACKUP");
  EXPECT_EQ(kept.code(), ErrorCode::kIoError);
  EXPECT_EQ(kept.message(), only_looks_like_it.message());
}

TEST(UsbErrorTest, OtherErrorsAreUnchanged) {
  for (int err : {ENOENT, ENOSPC, EACCES, EEXIST, EINVAL}) {
    Status original = StatusFromErrno(err, "usb://BACKUP/a.ksb");
    Status s = DriveGoneStatus(original, "BACKUP");
    EXPECT_EQ(s.code(), original.code()) << err;
    EXPECT_EQ(s.message(), original.message());
  }
}

}  // namespace
}  // namespace keepsake::storage
