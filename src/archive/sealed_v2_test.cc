// Format v2 (issue 13, "keys a stolen appliance does not give away"): backups made by a
// write-only appliance with its own certified key. Every attack the v1 tests make is made
// again here (every byte flipped, every length cut, chunks reordered, dropped, repeated or
// spliced), plus what v2 adds: the writer cannot open what it wrote, a certificate of
// another domain or a forged one is refused, a revoked device key is refused, and each
// chunk opens on its own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "archive/backup_file.h"
#include "archive/format.h"
#include "archive/sealed_reader.h"
#include "archive/sealed_test_util.h"
#include "base/endian.h"
#include "base/mem_stream.h"
#include "crypto/chunk_cipher.h"
#include "crypto/device_certificate.h"
#include "crypto/file_key.h"
#include "crypto/revocation.h"

namespace keepsake::archive {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kDms[] = "correct horse battery";
using sealed_test::ChunkOffsets;
using sealed_test::Domain;
using sealed_test::MakeTestTree;
using sealed_test::Secret;

// What a v2 appliance keeps (crypto/keystore.cc does the same): public keys, its own
// certified key, and the box secret key only when it keeps the restore key.
crypto::DomainKeys Appliance(const crypto::DomainKeys& domain, const std::string& device_id, bool keep_restore_key) {
  crypto::DomainKeys kept;
  kept.salt = domain.salt;
  kept.kdf = domain.kdf;
  kept.public_key = domain.public_key;
  kept.box_public_key = domain.box_public_key;
  auto key = crypto::NewCertifiedDeviceKey(domain, device_id, 1795000000);
  KS_CHECK(key.ok());
  kept.device = std::move(key).value();
  if (keep_restore_key) kept.box_secret_key = SecureBuffer::CopyOf(domain.box_secret_key.span());
  return kept;
}

class SealedV2Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tree_ = new std::string(MakeTestTree("ks_sealed_v2"));
    domain_ = new crypto::DomainKeys(Domain(kDms, 1));
    writer_ = new crypto::DomainKeys(Appliance(*domain_, "dev-1", false));
    keeper_ = new crypto::DomainKeys(Appliance(*domain_, "dev-1", true));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*tree_);
    delete tree_;
    delete domain_;
    delete writer_;
    delete keeper_;
  }

  static std::string Seal(const crypto::DomainKeys& keys, std::time_t when = 1795651200,
                          const std::string& device_id = "dev-1") {
    auto scan = ScanSources({{"tree", {{"", *tree_}}, ""}});
    KS_CHECK(scan.ok());
    NewBackup backup{"test_host_20261126T000000Z.ksb", when, {device_id, "host", "model", "1.0.0"}, {}};
    StringSink out;
    SealOptions options;
    options.chunk_size = kMinChunkSize;
    auto written = SealBackup(*scan, backup, keys, out, options);
    KS_CHECK(written.ok());
    return out.data();
  }

  static Status Verify(std::string_view file, const Unlocker& unlocker) {
    StringSource in(file);
    return UnsealBackup(in, unlocker, "").status();
  }
  // The appliance that keeps the restore key: no Argon2id per call, for the sweeps.
  static Status VerifyOnKeeper(std::string_view file) { return Verify(file, {keeper_, nullptr}); }
  static Status Integrity(std::string_view file) {
    StringSource in(file);
    return CheckIntegrity(in).status();
  }

  static std::string* tree_;
  static crypto::DomainKeys* domain_;
  static crypto::DomainKeys* writer_;
  static crypto::DomainKeys* keeper_;
};

std::string* SealedV2Test::tree_ = nullptr;
crypto::DomainKeys* SealedV2Test::domain_ = nullptr;
crypto::DomainKeys* SealedV2Test::writer_ = nullptr;
crypto::DomainKeys* SealedV2Test::keeper_ = nullptr;

void ExpectError(const Status& st, ErrorCode code, std::string_view words) {
  EXPECT_EQ(st.code(), code) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr(std::string(words)));
}

TEST_F(SealedV2Test, AWriteOnlyApplianceSealsWhatOnlyTheDmsOpens) {
  std::string file = Seal(*writer_);
  EXPECT_EQ(GetLe16(reinterpret_cast<const uint8_t*>(file.data()) + 8), kFormatV2);
  EXPECT_GT(ChunkOffsets(file).size(), 3u);
  // Integrity needs no secret: the device's signatures, its certificate, the chunk tree.
  StringSource in(file);
  auto checked = CheckIntegrity(in);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  ASSERT_TRUE(checked->header.signer.has_value());
  EXPECT_EQ(checked->header.signer->device_id, "dev-1");
  EXPECT_EQ(checked->header.signer->device_public_key, writer_->device->certificate.device_public_key);
  // The appliance that wrote it holds nothing that opens it...
  ExpectError(Verify(file, {writer_, nullptr}), ErrorCode::kFailedPrecondition, "write-only");
  // ...the DMS does, on this appliance or on any other, and so does a kept restore key.
  SecureBuffer dms = Secret(kDms);
  EXPECT_TRUE(Verify(file, {writer_, &dms}).ok()) << Verify(file, {writer_, &dms}).ToString();
  EXPECT_TRUE(Verify(file, {nullptr, &dms}).ok());
  EXPECT_TRUE(VerifyOnKeeper(file).ok());
  SecureBuffer wrong = Secret("correct horse battery!");
  ExpectError(Verify(file, {nullptr, &wrong}), ErrorCode::kUnauthenticated, "wrong Domain Master Secret");
}

TEST_F(SealedV2Test, ExtractedContentIsTheTree) {
  std::string file = Seal(*writer_);
  char tmpl[] = "/tmp/ks_v2_out_XXXXXX";
  std::string out = mkdtemp(tmpl);
  StringSource in(file);
  SecureBuffer dms = Secret(kDms);
  auto unsealed = UnsealBackup(in, {nullptr, &dms, nullptr}, out);
  ASSERT_TRUE(unsealed.ok()) << unsealed.status().ToString();
  std::ifstream conf(out + "/etc/a.conf");
  std::string text((std::istreambuf_iterator<char>(conf)), {});
  EXPECT_EQ(text, "alpha = 1\nbeta = two\n");
  EXPECT_EQ(fs::file_size(out + "/etc/blob.bin"), 6000u);
  EXPECT_EQ(fs::read_symlink(out + "/etc/link"), "a.conf");
  fs::remove_all(out);
}

TEST_F(SealedV2Test, EveryFlippedByteIsDetectedWithAndWithoutASecret) {
  std::string file = Seal(*writer_);
  for (size_t pos = 0; pos < file.size(); ++pos) {
    std::string bad = file;
    bad[pos] ^= 0x20;
    Status st = VerifyOnKeeper(bad);
    ASSERT_FALSE(st.ok()) << "flip at " << pos << " went unnoticed";
    ErrorCode want = (pos == 8 || pos == 9) ? ErrorCode::kNotSupported : ErrorCode::kCorruption;
    ASSERT_EQ(st.code(), want) << "flip at " << pos << ": " << st.ToString();
    ASSERT_FALSE(Integrity(bad).ok()) << "flip at " << pos << " unnoticed without a secret";
  }
}

TEST_F(SealedV2Test, TruncationAtAnyPointIsDetected) {
  std::string file = Seal(*writer_);
  for (size_t len = 0; len < file.size(); ++len) {
    std::string_view cut = std::string_view(file).substr(0, len);
    Status st = VerifyOnKeeper(cut);
    ASSERT_EQ(st.code(), ErrorCode::kCorruption) << "truncated to " << len << ": " << st.ToString();
    ASSERT_EQ(Integrity(cut).code(), ErrorCode::kCorruption) << "cut at " << len;
  }
  ExpectError(VerifyOnKeeper(file + "x"), ErrorCode::kCorruption, "after the trailer");
}

TEST_F(SealedV2Test, ReorderedDroppedRepeatedOrSplicedChunksAreDetected) {
  std::string file = Seal(*writer_);
  auto c = ChunkOffsets(file);
  std::string chunk1 = file.substr(c[1], c[2] - c[1]);
  std::string chunk2 = file.substr(c[2], c[3] - c[2]);
  std::string reordered = file.substr(0, c[1]) + chunk2 + chunk1 + file.substr(c[3]);
  std::string dropped = file.substr(0, c[1]) + file.substr(c[2]);
  std::string repeated = file.substr(0, c[2]) + chunk1 + file.substr(c[2]);
  // The last chunk dropped and the trailer kept: the chunk before it is not sealed as last.
  size_t trailer = file.size() - kTrailerSize;
  std::string cut_last = file.substr(0, c.back()) + file.substr(trailer);
  std::string other = Seal(*writer_);
  auto o = ChunkOffsets(other);
  std::string spliced = file.substr(0, c[1]) + other.substr(o[1], o[2] - o[1]) + file.substr(c[2]);
  for (const std::string* bad : {&reordered, &dropped, &repeated, &cut_last, &spliced}) {
    EXPECT_EQ(VerifyOnKeeper(*bad).code(), ErrorCode::kCorruption) << VerifyOnKeeper(*bad).ToString();
    // Without a secret the chunk tree in the trailer catches each of them.
    ExpectError(Integrity(*bad), ErrorCode::kCorruption, "trailer");
  }
  ExpectError(VerifyOnKeeper(reordered), ErrorCode::kCorruption, "chunk 1 failed authentication");
  ExpectError(VerifyOnKeeper(spliced), ErrorCode::kCorruption, "chunk 1 failed authentication");
  ExpectError(Integrity(reordered), ErrorCode::kCorruption, "chunk tree in the trailer does not match");
}

// The point of the chunked body: any chunk opens alone, given the file key and its index.
TEST_F(SealedV2Test, EachChunkOpensOnItsOwn) {
  std::string file = Seal(*writer_);
  StringSource in(file);
  auto sealed = ReadSealedHeader(in);
  ASSERT_TRUE(sealed.ok());
  auto file_key =
      crypto::OpenFileKey(domain_->box_public_key, domain_->box_secret_key, sealed->header.wrapped_file_key);
  ASSERT_TRUE(file_key.ok());
  auto c = ChunkOffsets(file);
  for (size_t i = c.size(); i-- > 0;) {  // backwards: no chunk depends on an earlier one
    uint32_t len = GetLe32(reinterpret_cast<const uint8_t*>(file.data()) + c[i]);
    auto cipher = std::span(reinterpret_cast<const uint8_t*>(file.data()) + c[i] + kChunkLengthSize, len);
    std::vector<uint8_t> plain;
    auto last = crypto::OpenChunk(*file_key, i, cipher, sealed->digest, plain);
    ASSERT_TRUE(last.ok()) << "chunk " << i;
    EXPECT_EQ(*last, i + 1 == c.size());
    EXPECT_FALSE(crypto::OpenChunk(*file_key, i + 1, cipher, sealed->digest, plain).ok()) << "index is bound";
  }
}

TEST_F(SealedV2Test, ADeviceCertifiedByAnotherDomainIsNotThisDomains) {
  // An attacker's own domain certifies their own device: consistent, and foreign.
  crypto::DomainKeys attacker = Domain("attacker secret here", 1);
  crypto::DomainKeys device = Appliance(attacker, "dev-1", false);
  std::string file = Seal(device);
  EXPECT_TRUE(Integrity(file).ok());
  ExpectError(VerifyOnKeeper(file), ErrorCode::kUnauthenticated, "belongs to domain");
}

TEST_F(SealedV2Test, ADeviceKeyWithoutTheDomainsCertificateIsRefused) {
  // A stolen v1-style forgery: a device key whose certificate signature is not the domain's.
  crypto::DomainKeys forged = Appliance(*domain_, "dev-1", false);
  crypto::DomainKeys attacker = Domain("attacker secret here", 1);
  auto own = crypto::NewCertifiedDeviceKey(attacker, "dev-1", 1795000000);
  ASSERT_TRUE(own.ok());
  forged.device = std::move(own).value();  // certified by the attacker, claiming this domain
  std::string file = Seal(forged);
  ExpectError(Integrity(file), ErrorCode::kCorruption, "device certificate is not signed by the domain");
  ExpectError(VerifyOnKeeper(file), ErrorCode::kCorruption, "device certificate");
}

TEST_F(SealedV2Test, AHeaderClaimingAnotherDeviceThanItsCertificateIsRefused) {
  std::string file = Seal(*writer_, 1795651200, "dev-2");  // certified for dev-1
  ExpectError(Integrity(file), ErrorCode::kCorruption, "signer.device_id");
}

TEST_F(SealedV2Test, ARevokedDevicesLaterBackupsAreRefusedItsEarlierOnesKept) {
  std::string before = Seal(*writer_, 1795651200);  // 2026-11-26T00:00:00Z
  std::string after = Seal(*writer_, 1796256000);   // 2026-12-03T00:00:00Z
  crypto::RevocationList list;
  list.domain_public_key = domain_->public_key;
  list.serial = 1;
  list.issued_at = "2026-12-01T00:00:00Z";
  list.revoked.push_back({"dev-1", writer_->device->certificate.device_public_key, "2026-12-01T00:00:00Z"});
  // The list travels as signed text: what a device trusts is what it checked.
  auto checked = crypto::ParseRevocationList(crypto::SignRevocationList(*domain_, list), domain_->public_key);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  Unlocker unlocker{keeper_, nullptr, &*checked};
  EXPECT_TRUE(Verify(before, unlocker).ok()) << Verify(before, unlocker).ToString();
  Status refused = Verify(after, unlocker);
  ExpectError(refused, ErrorCode::kUnauthenticated, "revoked");
  EXPECT_THAT(refused.message(), HasSubstr("dev-1"));
  SecureBuffer dms = Secret(kDms);
  ExpectError(Verify(after, {nullptr, &dms, &*checked}), ErrorCode::kUnauthenticated, "revoked");
  // A list not signed by the domain is not believed.
  crypto::DomainKeys attacker = Domain("attacker secret here", 1);
  list.domain_public_key = attacker.public_key;
  ExpectError(crypto::ParseRevocationList(crypto::SignRevocationList(attacker, list), domain_->public_key).status(),
              ErrorCode::kUnauthenticated, "not signed by this domain");
}

TEST_F(SealedV2Test, DecryptGivesAPlainMultiFrameZstdStream) {
  std::string file = Seal(*writer_);
  StringSource in(file);
  StringSink out;
  SecureBuffer dms = Secret(kDms);
  ASSERT_TRUE(DecryptBackup(in, {nullptr, &dms, nullptr}, out).ok());
  // One frame per chunk, each starting with zstd's magic number.
  EXPECT_EQ(GetLe32(reinterpret_cast<const uint8_t*>(out.data().data())), 0xFD2FB528u);
  // ZSTD_decompress decodes concatenated frames, as `zstd -d` and `tar --zstd` do.
  std::string tar(1 << 20, '\0');
  size_t n = ZSTD_decompress(tar.data(), tar.size(), out.data().data(), out.data().size());
  ASSERT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  tar.resize(n);
  EXPECT_THAT(tar, HasSubstr("alpha = 1"));
}

}  // namespace
}  // namespace keepsake::archive

namespace keepsake::archive {
namespace {

// A sink that fails once `budget` bytes were written: storage lost mid-backup.
class FailingSink final : public ByteSink {
 public:
  explicit FailingSink(size_t budget) : budget_(budget) {}
  Status Write(std::span<const std::byte> data) override {
    if (written_ + data.size() > budget_) return Status::IoError("the storage went away");
    written_ += data.size();
    return Status();
  }
  Status Finish() override { return Status(); }

 private:
  size_t budget_;
  size_t written_ = 0;
};

// Chunks are sealed on other threads: a backup cut short anywhere, by the storage or by a
// cancel, must unwind them all and report the error (reproduced: keepsaked aborted with a
// corrupted heap when a v2 backup failed mid-write).
TEST_F(SealedV2Test, ABackupCutShortAnywhereUnwindsCleanly) {
  auto scan = ScanSources({{"tree", {{"", *tree_}}, ""}});
  ASSERT_TRUE(scan.ok());
  NewBackup backup{"test_host_20261126T000000Z.ksb", 1795651200, {"dev-1", "host", "model", "1.0.0"}, {}};
  SealOptions options;
  options.chunk_size = kMinChunkSize;
  const size_t full = Seal(*writer_).size();
  for (size_t budget = 0; budget < full; budget += 97) {
    FailingSink out(budget);
    auto sealed = SealBackup(*scan, backup, *writer_, out, options);
    ASSERT_FALSE(sealed.ok()) << "budget " << budget;
    EXPECT_EQ(sealed.status().code(), ErrorCode::kIoError) << sealed.status().ToString();
  }
  for (uint64_t stop_at = 0; stop_at < 5000; stop_at += 500) {  // the tree holds over 6000 bytes
    StringSink out;
    auto sealed = SealBackup(*scan, backup, *writer_, out, options, [&](uint64_t done) { return done < stop_at; });
    EXPECT_FALSE(sealed.ok()) << "stopped at " << stop_at;
  }
}

}  // namespace
}  // namespace keepsake::archive

namespace keepsake::archive {
namespace {

// Chunks of 4 MiB in flight on other threads when the backup is cancelled.
TEST_F(SealedV2Test, ALargeBackupCancelledMidWayUnwindsCleanly) {
  std::string big = MakeTestTree("ks_sealed_v2_big");
  {
    std::ofstream f(big + "/etc/zeros.img", std::ios::binary);
    f.seekp((64 << 20) - 1);
    f.put('\0');
  }
  auto scan = ScanSources({{"tree", {{"", big}}, ""}});
  ASSERT_TRUE(scan.ok());
  NewBackup backup{"test_host_20261126T000000Z.ksb", 1795651200, {"dev-1", "host", "model", "1.0.0"}, {}};
  for (uint64_t stop_at = 1 << 20; stop_at < (60u << 20); stop_at += 7 << 20) {
    StringSink out;
    auto sealed = SealBackup(*scan, backup, *writer_, out, {}, [&](uint64_t done) { return done < stop_at; });
    EXPECT_EQ(sealed.status().code(), ErrorCode::kCancelled) << "stopped at " << stop_at;
  }
  fs::remove_all(big);
}

}  // namespace
}  // namespace keepsake::archive
