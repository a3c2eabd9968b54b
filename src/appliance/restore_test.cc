// A backup is signed by the domain, yet its content is never trusted for safety: these
// tests seal hostile tar streams with a genuine domain key and check that a restore refuses
// each one with nothing changed on the appliance.
#include "appliance/restore.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>

#include "appliance/layout.h"
#include "archive/backup_file.h"
#include "archive/sealed_writer.h"
#include "archive/zstd_stream.h"
#include "base/mem_stream.h"
#include "base/sha256.h"

namespace keepsake::appliance {
namespace {

namespace fs = std::filesystem;

const crypto::KdfParams kTestKdf{1, 8};

crypto::DomainKeys TestDomain() {
  std::string dms = "restore test secret";
  crypto::Salt salt{};
  auto keys = crypto::DeriveDomainKeys(
      SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(dms.data()), dms.size())), salt, kTestKdf);
  KS_CHECK(keys.ok());
  return std::move(keys).value();
}

struct TarMember {
  std::string path;
  mode_t type = AE_IFREG;
  std::string content;
  std::string symlink;
  int64_t declared_size = -1;  // -1: the content's size
};

struct TarOut {
  std::string data;
  bool stopped = false;  // refuse further writes: libarchive would pad the declared size
};

la_ssize_t Append(struct archive*, void* ctx, const void* buf, size_t len) {
  auto* out = static_cast<TarOut*>(ctx);
  if (out->stopped) return -1;
  out->data.append(static_cast<const char*>(buf), len);
  return static_cast<la_ssize_t>(len);
}

// A tar stream as an attacker would write it; `truncate` stops right after the members
// (no padding, no end blocks), as for a member that declares more data than follows.
std::string HostileTar(const std::vector<TarMember>& members, bool truncate = false) {
  TarOut out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  archive_write_set_bytes_per_block(a, 0);
  archive_write_open2(a, &out, nullptr, Append, nullptr, nullptr);
  for (const auto& m : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, m.path.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, 0644);
    if (m.type == AE_IFLNK) archive_entry_copy_symlink(e, m.symlink.c_str());
    if (m.type == AE_IFCHR) archive_entry_set_rdev(e, makedev(1, 3));
    archive_entry_set_size(e, m.type == AE_IFREG
                                  ? (m.declared_size >= 0 ? m.declared_size : static_cast<la_int64_t>(m.content.size()))
                                  : 0);
    archive_write_header(a, e);
    if (!m.content.empty()) archive_write_data(a, m.content.data(), m.content.size());
    archive_entry_free(e);
  }
  if (truncate) {
    out.stopped = true;
  } else {
    archive_write_close(a);
  }
  archive_write_free(a);
  return out.data;
}

// The header lists `components` (by default a firmware component with no file, as the
// hostile streams below hold none that survives the checks).
std::string Seal(const std::string& tar, const crypto::DomainKeys& keys,
                 std::vector<archive::ComponentSummary> components = {{"firmware", 0, 0, ""}}) {
  archive::BackupHeader header = archive::MakeHeader({"hostile.ksb", 1795651200, {"dev", "host", "model", "1.0.0"}, {}},
                                                     std::move(components), keys, {});
  StringSink out;
  auto sealer = archive::SealedWriter::Start(header, keys, out);
  KS_CHECK(sealer.ok());
  auto zstd = archive::ZstdCompressSink::Create(**sealer, {3, 1});
  KS_CHECK(zstd.ok());
  KS_CHECK((*zstd)->Write(AsBytes(tar)).ok());
  KS_CHECK((*zstd)->Finish().ok());
  KS_CHECK((*sealer)->Finish().ok());
  return out.data();
}

std::string HexSha256(const std::string& data) {
  Sha256 sha;
  sha.Update(AsBytes(data));
  return sha.FinalHex();
}

class HostileBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ks_hostile_XXXXXX";
    dir_ = mkdtemp(tmpl);
    root_ = dir_ + "/root";
    fs::create_directories(root_ + "/firmware");
    std::ofstream(root_ + "/firmware/VERSION") << "firmware=4.0.0\n";
    keys_ = std::make_unique<crypto::DomainKeys>(TestDomain());
  }
  void TearDown() override { fs::remove_all(dir_); }

  Status Restore(const std::string& file) {
    RestoreRequest req;
    req.root = root_;
    req.state_dir = dir_ + "/state";
    req.device_keys = keys_.get();
    StringSource in(file);
    return RestoreBackup(in, req).status();
  }

  // The appliance is exactly as before and no staging area is left.
  void ExpectUnchanged() {
    std::ifstream in(root_ + "/firmware/VERSION");
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "firmware=4.0.0");
    EXPECT_FALSE(fs::exists(WorkDir(root_) + "/staging"));
    EXPECT_FALSE(fs::exists(dir_ + "/etc"));
    EXPECT_FALSE(fs::exists("/tmp/ks_hostile_escape"));
  }

  std::string dir_, root_;
  std::unique_ptr<crypto::DomainKeys> keys_;
};

TEST_F(HostileBackupTest, GenuineMinimalBackupIsAccepted) {
  // The harness itself works: the same kind of stream, but benign and with its manifest.
  archive::Manifest m;
  m.components = {{"firmware",
                   {{"firmware/VERSION", archive::EntryType::kFile, 15, 0644, 0,
                     "2d9ab9b9ac7c9ab2d3ea3dbd56bcab4e7f6e4e5e1ff1ee1d4a5b5e4f0a8dd6cc", ""}}}};
  std::string body = "firmware=4.0.0\n";
  std::string tar =
      HostileTar({{"firmware/VERSION", AE_IFREG, body, ""}, {".keepsake-manifest.json", AE_IFREG, "", ""}});
  Status st = Restore(Seal(tar, *keys_, {{"firmware", 1, 15, ""}}));
  // The digest above is deliberately wrong: the manifest check must catch it.
  EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.ToString();
  ExpectUnchanged();
}

TEST_F(HostileBackupTest, DotDotPathIsRefused) {
  Status st = Restore(Seal(HostileTar({{"firmware/../../etc/evil", AE_IFREG, "x", ""}}), *keys_));
  EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("'..' component"), std::string::npos) << st.message();
  ExpectUnchanged();
}

TEST_F(HostileBackupTest, AbsolutePathIsRefused) {
  Status st = Restore(Seal(HostileTar({{"/tmp/ks_hostile_escape", AE_IFREG, "x", ""}}), *keys_));
  EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("not a relative path"), std::string::npos) << st.message();
  ExpectUnchanged();
}

TEST_F(HostileBackupTest, DeviceNodeIsRefused) {
  Status st = Restore(Seal(HostileTar({{"firmware/null", AE_IFCHR, "", ""}}), *keys_));
  EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("unsupported type"), std::string::npos) << st.message();
  ExpectUnchanged();
}

TEST_F(HostileBackupTest, SymlinkOutOfTheApplianceIsRefused) {
  for (const char* target : {"../../../../etc", "/etc/shadow"}) {
    // A complete, manifest-consistent backup: only the symlink check can refuse it.
    std::string manifest =
        std::string(
            R"({"manifest_version":1,"backup_id":"x","device":{"device_id":"d","hostname":"h","model":"m","firmware_version":"1"},"components":[{"name":"firmware","entries":[{"path":"firmware/link","type":"symlink","mode":511,"mtime":0,"target":")") +
        target + R"("}]}]})";
    std::string tar =
        HostileTar({{"firmware/link", AE_IFLNK, "", target}, {".keepsake-manifest.json", AE_IFREG, manifest, ""}});
    Status st = Restore(Seal(tar, *keys_));
    EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.ToString();
    EXPECT_NE(st.message().find("leads out of the appliance"), std::string::npos) << st.message();
    ExpectUnchanged();
  }
}

TEST_F(HostileBackupTest, PathOutsideEveryComponentIsRefused) {
  std::string manifest =
      R"({"manifest_version":1,"backup_id":"x","device":{"device_id":"d","hostname":"h","model":"m","firmware_version":"1"},"components":[{"name":"firmware","entries":[{"path":"etc","type":"dir","mode":493,"mtime":0}]}]})";
  std::string tar = HostileTar({{"etc", AE_IFDIR, "", ""}, {".keepsake-manifest.json", AE_IFREG, manifest, ""}});
  Status st = Restore(Seal(tar, *keys_));
  EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("belongs to no component"), std::string::npos) << st.message();
  ExpectUnchanged();
}

TEST_F(HostileBackupTest, HugeDeclaredSizeIsRefusedWithoutAllocatingIt) {
  // Declares 1 TiB and ends after 5 bytes: the reader streams, so it neither allocates nor
  // waits for the rest; the stream simply ends too early.
  std::string tar = HostileTar({{"firmware/huge", AE_IFREG, "12345", "", int64_t{1} << 40}}, /*truncate=*/true);
  Status st = Restore(Seal(tar, *keys_, {{"firmware", 1, 5, ""}}));
  EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.ToString();
  ExpectUnchanged();
}

TEST_F(HostileBackupTest, AComponentTheHeaderNamesButTheBodyLacksAbortsBeforeTheSwap) {
  // Signed by the domain, complete and manifest-consistent, but the header also lists the
  // network component: a restore that believed it would move the live network settings
  // aside with nothing in their place.
  fs::create_directories(root_ + "/system/network");
  std::ofstream(root_ + "/system/network/interfaces") << "address 192.0.2.10\n";
  std::string version = "firmware=3.9.0\n";
  archive::Manifest manifest;
  manifest.backup_id = "x";
  manifest.device = {"dev", "host", "model", "1.0.0"};
  manifest.components = {
      {"firmware", {{"firmware/VERSION", archive::EntryType::kFile, version.size(), 0644, 0, HexSha256(version), ""}}}};
  std::string tar = HostileTar({{"firmware/VERSION", AE_IFREG, version, ""},
                                {".keepsake-manifest.json", AE_IFREG, archive::SerializeManifest(manifest), ""}});
  archive::ComponentSummary firmware{"firmware", 1, version.size(), ""};

  // The harness: with the truthful header the restore goes through.
  ASSERT_TRUE(Restore(Seal(tar, *keys_, {firmware})).ok());
  std::ofstream(root_ + "/firmware/VERSION") << "firmware=4.0.0\n";

  Status st = Restore(Seal(tar, *keys_, {firmware, {"network", 1, 19, ""}}));
  EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("component 'network' that the body does not hold"), std::string::npos) << st.message();
  EXPECT_TRUE(fs::exists(root_ + "/system/network/interfaces"));
  ExpectUnchanged();
}

}  // namespace
}  // namespace keepsake::appliance
