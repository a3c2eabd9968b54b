// The sealed file must reject every kind of damage or forgery with a precise error before
// anything is used: these tests seal a small tree in memory and attack every region.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "archive/backup_file.h"
#include "archive/format.h"
#include "archive/sealed_reader.h"
#include "archive/sealed_test_util.h"
#include "archive/sealed_writer.h"
#include "base/endian.h"
#include "base/mem_stream.h"

namespace keepsake::archive {
namespace {

namespace fs = std::filesystem;

using sealed_test::ChunkOffsets;
using sealed_test::Domain;
using sealed_test::MakeTestTree;
using sealed_test::Secret;

class SealedFileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tree_ = new std::string(MakeTestTree("ks_sealed"));
    domain_ = new crypto::DomainKeys(Domain("correct horse battery", 1));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*tree_);
    delete tree_;
    delete domain_;
  }

  // A sealed backup of the test tree, in small chunks so that the body has several.
  static std::string Seal(const crypto::DomainKeys& keys) {
    auto scan = ScanSources({{"tree", {{"", *tree_}}, ""}});
    KS_CHECK(scan.ok());
    NewBackup backup{"test_host_20261126T000000Z.ksb", 1795651200, {"dev-1", "host", "model", "1.0.0"}, {}};
    StringSink out;
    SealOptions options;
    options.chunk_size = kMinChunkSize;
    options.zstd.workers = 1;
    auto written = SealBackup(*scan, backup, keys, out, options);
    KS_CHECK(written.ok());
    return out.data();
  }

  // A header signed by the domain whose component list is not the body's: a restore would
  // move the live component the header names aside with nothing to put in its place.
  static std::string SealWithHeaderComponents(const crypto::DomainKeys& keys,
                                              std::vector<ComponentSummary> components) {
    auto scan = ScanSources({{"tree", {{"", *tree_}}, ""}});
    KS_CHECK(scan.ok());
    NewBackup backup{"lying_20261126T000000Z.ksb", 1795651200, {"dev-1", "host", "model", "1.0.0"}, {}};
    SealOptions options;
    options.zstd.workers = 1;
    BackupHeader header = MakeHeader(backup, std::move(components), keys, options);
    Manifest manifest;
    manifest.backup_id = header.backup_id;
    manifest.device = header.device;
    StringSink out;
    auto sealer = SealedWriter::Start(std::move(header), keys, out);
    KS_CHECK(sealer.ok());
    auto zstd = ZstdCompressSink::Create(**sealer, options.zstd);
    KS_CHECK(zstd.ok());
    KS_CHECK(WriteTar(*scan, std::move(manifest), **zstd).ok());
    KS_CHECK((*zstd)->Finish().ok());
    KS_CHECK((*sealer)->Finish().ok());
    return out.data();
  }

  static Status Verify(std::string_view file, const Unlocker& unlocker) {
    StringSource in(file);
    return UnsealBackup(in, unlocker, "").status();
  }
  static Status VerifyOnDevice(std::string_view file) { return Verify(file, {domain_, nullptr}); }

  static std::string* tree_;
  static crypto::DomainKeys* domain_;
};

std::string* SealedFileTest::tree_ = nullptr;
crypto::DomainKeys* SealedFileTest::domain_ = nullptr;

void ExpectError(const Status& st, ErrorCode code, std::string_view words) {
  EXPECT_EQ(st.code(), code) << st.ToString();
  EXPECT_NE(st.message().find(words), std::string::npos) << "message: " << st.message();
}

TEST_F(SealedFileTest, IntactFileVerifiesWithDeviceKeysAndWithDms) {
  std::string file = Seal(*domain_);
  EXPECT_TRUE(VerifyOnDevice(file).ok()) << VerifyOnDevice(file).ToString();
  SecureBuffer dms = Secret("correct horse battery");
  EXPECT_TRUE(Verify(file, {nullptr, &dms}).ok());
  EXPECT_GT(ChunkOffsets(file).size(), 3u);
}

TEST_F(SealedFileTest, EveryFlippedByteIsDetected) {
  std::string file = Seal(*domain_);
  for (size_t pos = 0; pos < file.size(); ++pos) {
    std::string bad = file;
    bad[pos] ^= 0x20;
    Status st = VerifyOnDevice(bad);
    ASSERT_FALSE(st.ok()) << "flip at " << pos << " went unnoticed";
    // The version field is the one place where a flip reads as "a format we do not know".
    ErrorCode want = (pos == 8 || pos == 9) ? ErrorCode::kNotSupported : ErrorCode::kCorruption;
    ASSERT_EQ(st.code(), want) << "flip at " << pos << ": " << st.ToString();
  }
}

TEST_F(SealedFileTest, FlipsNameTheDamagedRegion) {
  std::string file = Seal(*domain_);
  auto flip = [&](size_t pos) {
    std::string bad = file;
    bad[pos] ^= 0x01;
    return VerifyOnDevice(bad);
  };
  size_t header_len = GetLe32(reinterpret_cast<const uint8_t*>(file.data()) + 12);
  auto chunks = ChunkOffsets(file);
  ExpectError(flip(0), ErrorCode::kCorruption, "not a Keepsake backup");
  ExpectError(flip(kPrefixSize + header_len / 2), ErrorCode::kCorruption, "header");
  ExpectError(flip(kPrefixSize + header_len + 10), ErrorCode::kCorruption, "header signature is invalid");
  ExpectError(flip(chunks[2] + 40), ErrorCode::kCorruption, "chunk 2 failed authentication");
  ExpectError(flip(file.size() - kTrailerSize + 2), ErrorCode::kCorruption, "trailer");
  ExpectError(flip(file.size() - 70), ErrorCode::kCorruption, "trailer");
  ExpectError(flip(file.size() - 1), ErrorCode::kCorruption, "trailer signature is invalid");
}

TEST_F(SealedFileTest, TruncationAtAnyPointIsDetected) {
  std::string file = Seal(*domain_);
  // Every length around the header and the trailer, every 7th in between.
  const size_t edge = 2048;
  for (size_t len = 0; len < file.size(); len += (len < edge || len + edge > file.size()) ? 1 : 7) {
    Status st = VerifyOnDevice(std::string_view(file).substr(0, len));
    ASSERT_EQ(st.code(), ErrorCode::kCorruption) << "truncated to " << len << ": " << st.ToString();
    if (len >= kMagic.size()) {
      ASSERT_NE(st.message().find("truncated"), std::string::npos) << "at " << len << ": " << st.message();
    }
  }
}

TEST_F(SealedFileTest, AppendedDataIsDetected) {
  std::string file = Seal(*domain_);
  ExpectError(VerifyOnDevice(file + "x"), ErrorCode::kCorruption, "after the trailer");
  ExpectError(VerifyOnDevice(file + file), ErrorCode::kCorruption, "after the trailer");
}

TEST_F(SealedFileTest, HeaderSwappedBetweenTwoBackupsIsDetected) {
  std::string a = Seal(*domain_);
  std::string b = Seal(*domain_);
  size_t body_a = ChunkOffsets(a)[0];
  size_t body_b = ChunkOffsets(b)[0];
  std::string swapped = a.substr(0, body_a) + b.substr(body_b);
  ExpectError(VerifyOnDevice(swapped), ErrorCode::kCorruption, "chunk 0 failed authentication");
}

TEST_F(SealedFileTest, TrailerSwappedBetweenTwoBackupsIsDetected) {
  std::string a = Seal(*domain_);
  std::string b = Seal(*domain_);
  std::string swapped = a.substr(0, a.size() - kTrailerSize) + b.substr(b.size() - kTrailerSize);
  ExpectError(VerifyOnDevice(swapped), ErrorCode::kCorruption, "trailer");
}

TEST_F(SealedFileTest, ReorderedDroppedOrRepeatedChunksAreDetected) {
  std::string file = Seal(*domain_);
  auto c = ChunkOffsets(file);
  std::string chunk1 = file.substr(c[1], c[2] - c[1]);
  std::string chunk2 = file.substr(c[2], c[3] - c[2]);
  std::string reordered = file.substr(0, c[1]) + chunk2 + chunk1 + file.substr(c[3]);
  ExpectError(VerifyOnDevice(reordered), ErrorCode::kCorruption, "chunk 1 failed authentication");
  std::string dropped = file.substr(0, c[1]) + file.substr(c[2]);
  ExpectError(VerifyOnDevice(dropped), ErrorCode::kCorruption, "chunk 1 failed authentication");
  std::string repeated = file.substr(0, c[2]) + chunk1 + file.substr(c[2]);
  ExpectError(VerifyOnDevice(repeated), ErrorCode::kCorruption, "chunk 2 failed authentication");
}

// CheckIntegrity: the same damage, found with no secret at all (inspect, listings, retention).
Status Integrity(std::string_view file) {
  StringSource in(file);
  return CheckIntegrity(in).status();
}

TEST_F(SealedFileTest, IntegrityWithoutAnySecretFindsEveryFlipTruncationAndSplice) {
  std::string file = Seal(*domain_);
  auto intact = [&] {
    StringSource in(file);
    return CheckIntegrity(in);
  }();
  ASSERT_TRUE(intact.ok()) << intact.status().ToString();
  EXPECT_EQ(intact->header.file_name, "test_host_20261126T000000Z.ksb");
  for (size_t pos = 0; pos < file.size(); ++pos) {
    std::string bad = file;
    bad[pos] ^= 0x20;
    ASSERT_FALSE(Integrity(bad).ok()) << "flip at " << pos << " went unnoticed";
  }
  for (size_t len = 0; len < file.size(); ++len) {
    ASSERT_EQ(Integrity(std::string_view(file).substr(0, len)).code(), ErrorCode::kCorruption) << "cut at " << len;
  }
  ExpectError(Integrity(file + "x"), ErrorCode::kCorruption, "after the trailer");
  auto c = ChunkOffsets(file);
  std::string reordered =
      file.substr(0, c[1]) + file.substr(c[2], c[3] - c[2]) + file.substr(c[1], c[2] - c[1]) + file.substr(c[3]);
  ExpectError(Integrity(reordered), ErrorCode::kCorruption, "file hash in the trailer does not match");
  std::string dropped = file.substr(0, c[1]) + file.substr(c[2]);
  ExpectError(Integrity(dropped), ErrorCode::kCorruption, "trailer");
}

TEST_F(SealedFileTest, AValidHeaderWithAGarbageBodyIsDamaged) {
  // Issue 13, finding 5 (reproduced): inspect and the listings read only the header, so a
  // genuine header followed by anything was shown as a valid backup.
  std::string file = Seal(*domain_);
  size_t body = ChunkOffsets(file)[0];
  ExpectError(Integrity(file.substr(0, body)), ErrorCode::kCorruption, "truncated");
  std::string garbage = file.substr(0, body);
  for (size_t i = 0; i < 5000; ++i) garbage += static_cast<char>(i * 131 + 7);
  ExpectError(Integrity(garbage), ErrorCode::kCorruption, "out of range");
  // Garbage framed as chunks of the right sizes, ended by the real trailer: the hash differs.
  std::string framed = file;
  std::vector<size_t> offsets = ChunkOffsets(file);
  offsets.push_back(file.size() - kTrailerSize);
  for (size_t k = 0; k + 1 < offsets.size(); ++k) {
    for (size_t i = offsets[k] + kChunkLengthSize; i < offsets[k + 1]; ++i) framed[i] = static_cast<char>(i * 7);
  }
  ExpectError(Integrity(framed), ErrorCode::kCorruption, "file hash in the trailer does not match");
}

TEST_F(SealedFileTest, OversizedChunkLengthIsRefusedBeforeReading) {
  std::string file = Seal(*domain_);
  size_t c0 = ChunkOffsets(file)[0];
  PutLe32(reinterpret_cast<uint8_t*>(file.data()) + c0, 0x7fffffff);
  ExpectError(VerifyOnDevice(file), ErrorCode::kCorruption, "chunk 0: length 2147483647 is out of range");
}

TEST_F(SealedFileTest, WrongDmsIsRefused) {
  std::string file = Seal(*domain_);
  SecureBuffer wrong = Secret("correct horse battery!");
  ExpectError(Verify(file, {nullptr, &wrong}), ErrorCode::kUnauthenticated, "wrong Domain Master Secret");
}

TEST_F(SealedFileTest, SameDmsOnAnotherDeviceOpensTheBackup) {
  std::string file = Seal(*domain_);
  // Another appliance derives the domain from the DMS and the salt in the header.
  crypto::DomainKeys same = Domain("correct horse battery", 1);
  EXPECT_TRUE(Verify(file, {&same, nullptr}).ok());
}

TEST_F(SealedFileTest, BackupOfAnotherDomainIsRefusedNamingBothFingerprints) {
  crypto::DomainKeys other = Domain("another domain secret", 2);
  std::string file = Seal(other);
  Status st = VerifyOnDevice(file);
  ExpectError(st, ErrorCode::kUnauthenticated, "belongs to domain");
  EXPECT_NE(st.message().find(crypto::DomainFingerprint(other.public_key)), std::string::npos);
  EXPECT_NE(st.message().find(crypto::DomainFingerprint(domain_->public_key)), std::string::npos);
}

TEST_F(SealedFileTest, ForgedHeaderSignedByAnotherKeyIsRefused) {
  // An attacker copies a genuine header but signs it (and the body) with their own key:
  // consistent in itself, yet not this device's domain.
  crypto::DomainKeys attacker = Domain("attacker secret", 1);
  std::string file = Seal(attacker);
  ExpectError(VerifyOnDevice(file), ErrorCode::kUnauthenticated, "belongs to domain");
}

TEST_F(SealedFileTest, HeaderTextWithAControlCharacterIsRefusedBeforeAnyoneShowsIt) {
  // Reproduced (issue 13): ANSI sequences in a component's note, in a header signed by any
  // key, redrew the screen of `keepsake inspect` into a forged verdict. The header is read
  // (ReadSealedHeader: what inspect, listings and restore all start with) and refused.
  crypto::DomainKeys attacker = Domain("attacker secret", 1);
  for (std::string note :
       {std::string("\x1b[2J\x1b[HSignature: valid, made in this device's domain"), std::string("line\nbreak"),
        std::string("C1 CSI \xc2\x9b"
                    "31m")}) {
    auto scan = ScanSources({{"tree", {{"", *tree_}}, note}});
    ASSERT_TRUE(scan.ok());
    NewBackup backup{"test_host_20261126T000000Z.ksb", 1795651200, {"dev-1", "host", "model", "1.0.0"}, {}};
    StringSink out;
    ASSERT_TRUE(SealBackup(*scan, backup, attacker, out, {}).ok());
    StringSource in(out.data());
    auto header = ReadSealedHeader(in);
    ASSERT_FALSE(header.ok()) << "a note with a control character was accepted: " << note;
    ExpectError(header.status(), ErrorCode::kCorruption, "components[].note");
    ExpectError(header.status(), ErrorCode::kCorruption, "holds a control character");
  }
}

TEST_F(SealedFileTest, AFileNameWithAControlCharacterIsRefusedAtBackupNotAtRestore) {
  // Such a name could not pass the manifest's check at restore: say so while it can be renamed.
  char tmpl[] = "/tmp/ks_ctrl_XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/report\x1b[31m.txt") << "x";
  auto scan = ScanSources({{"tree", {{"", dir}}, ""}});
  ASSERT_FALSE(scan.ok());
  ExpectError(scan.status(), ErrorCode::kInvalidArgument, "control character");
  EXPECT_EQ(scan.status().message().find('\x1b'), std::string::npos) << "the name is shown escaped";
  fs::remove_all(dir);
}

TEST_F(SealedFileTest, AHeaderAskingForAHugeKdfIsRefusedBeforeAnyDerivation) {
  // Reproduced (issue 13, finding 6): a header asking Argon2id for 4 GiB and 4 passes made
  // `verify --dms-file` take 36 s and 4.2 GB before any trust check.
  crypto::DomainKeys attacker = Domain("attacker secret", 1);
  attacker.kdf = {4, 4ull * 1024 * 1024};
  std::string file = Seal(attacker);
  SecureBuffer dms = Secret("attacker secret");
  ExpectError(Verify(file, {nullptr, &dms}), ErrorCode::kCorruption, "outside the allowed range 8 KiB..1 GiB");
}

TEST_F(SealedFileTest, WithAKeystoreADmsIsDerivedOnlyWithTheDomainsOwnSaltAndParameters) {
  // The domain's public key with other (costly) parameters: refused before deriving.
  crypto::DomainKeys forged = Domain("correct horse battery", 1);
  forged.kdf = {8, 1024 * 1024};
  std::string file = Seal(forged);
  SecureBuffer dms = Secret("correct horse battery");
  ExpectError(Verify(file, {domain_, &dms}), ErrorCode::kUnauthenticated, "not its salt and KDF parameters");
  EXPECT_TRUE(Verify(Seal(*domain_), {domain_, &dms}).ok()) << "the domain's own backup, with the DMS";
}

TEST_F(SealedFileTest, NotABackupFileIsNamedAsSuch) {
  ExpectError(VerifyOnDevice("hello world, this is plain text"), ErrorCode::kCorruption, "not a Keepsake backup");
  ExpectError(VerifyOnDevice(""), ErrorCode::kCorruption, "not a Keepsake backup");
}

TEST_F(SealedFileTest, ExtractReproducesContentModesAndLinks) {
  std::string file = Seal(*domain_);
  char tmpl[] = "/tmp/ks_extract_XXXXXX";
  std::string out = mkdtemp(tmpl);
  StringSource in(file);
  auto result = UnsealBackup(in, {domain_, nullptr}, out);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->contents.files, 2u);
  EXPECT_EQ(result->header.file_name, "test_host_20261126T000000Z.ksb");
  EXPECT_TRUE(fs::is_directory(out + "/etc/empty"));
  EXPECT_EQ(fs::read_symlink(out + "/etc/link"), "a.conf");
  EXPECT_EQ(fs::file_size(out + "/etc/blob.bin"), 6000u);
  EXPECT_FALSE(fs::exists(out + std::string("/") + std::string(kManifestName)));
  fs::remove_all(out);
}

TEST_F(SealedFileTest, AHeaderNamingAComponentTheBodyLacksIsRefused) {
  auto scan = ScanSources({{"tree", {{"", *tree_}}, ""}});
  ASSERT_TRUE(scan.ok());
  std::vector<ComponentSummary> truthful = scan->components;
  ASSERT_TRUE(VerifyOnDevice(SealWithHeaderComponents(*domain_, truthful)).ok());

  std::vector<ComponentSummary> extra = truthful;
  extra.push_back({"network", 3, 300, ""});
  Status st = VerifyOnDevice(SealWithHeaderComponents(*domain_, extra));
  EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.ToString();
  EXPECT_THAT(st.message(), ::testing::HasSubstr("component 'network' that the body does not hold"));

  std::vector<ComponentSummary> inflated = truthful;
  inflated[0].bytes += 1;
  st = VerifyOnDevice(SealWithHeaderComponents(*domain_, inflated));
  EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.ToString();
  EXPECT_THAT(st.message(), ::testing::HasSubstr("component 'tree': the header says"));

  std::vector<ComponentSummary> renamed = truthful;
  renamed[0].name = "firmware";
  st = VerifyOnDevice(SealWithHeaderComponents(*domain_, renamed));
  EXPECT_EQ(st.code(), ErrorCode::kCorruption) << st.ToString();
}

}  // namespace
}  // namespace keepsake::archive
