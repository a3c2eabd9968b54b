// RunBackupJob against the real local backend, with a small temp tree as its source (so no
// appliance is needed) and cheap domain keys. What matters to the administrator: exactly one
// complete file under its backup name on success, and nothing at all (not even a partial)
// on cancellation or when space is short.
#include "service/backup_job.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <filesystem>
#include <fstream>
#include <thread>

#include "appliance/backup_chain.h"
#include "archive/backup_name.h"
#include "base/strings.h"
#include "storage/local_backend.h"

namespace keepsake::service {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const crypto::KdfParams kTestKdf{1, 8};  // cheap Argon2id; the same code path as production
constexpr int64_t kNow = 1'795'000'000;  // 2026-11-18T11:06:40Z

class BackupJobTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    crypto::Salt salt{};
    randombytes_buf(salt.data(), salt.size());
    std::string dms = "correct horse battery";
    auto keys = crypto::DeriveDomainKeys(
        SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(dms.data()), dms.size())), salt, kTestKdf);
    KS_CHECK(keys.ok());
    keys_ = new crypto::DomainKeys(std::move(keys).value());
  }
  static void TearDownTestSuite() {
    delete keys_;
    keys_ = nullptr;
  }

  void SetUp() override {
    char tmpl[] = "/tmp/ks_backup_job_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    tree_ = base_ + "/tree";
    store_ = base_ + "/store";
    fs::create_directories(tree_ + "/etc/empty");
    fs::create_directories(store_);
    auto backend = storage::OpenLocalBackend(store_);
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    backend_ = std::move(backend).value();
  }
  void TearDown() override {
    backend_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // Writes a file of the source tree; returns its size.
  uint64_t AddFile(const std::string& rel, const std::string& content) {
    std::ofstream(tree_ + "/" + rel, std::ios::binary) << content;
    return content.size();
  }

  // A file of `bytes` zeros that takes no disk space.
  void AddSparseFile(const std::string& rel, uint64_t bytes) {
    int fd = ::open((tree_ + "/" + rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, static_cast<off_t>(bytes)), 0);
    ::close(fd);
  }

  // The small default tree: two files and an empty directory.
  uint64_t AddSmallTree() {
    return AddFile("etc/a.conf", "alpha = 1\nbeta = two\n") + AddFile("etc/blob.bin", std::string(6000, 'x'));
  }

  BackupJobRequest Request() const {
    BackupJobRequest req;
    req.sources = {{"tree", {{"", tree_}}, ""}};
    req.device = {"dev-1", "ca-01", "model", "1.0.0"};
    req.keys = keys_;
    req.prefix = "nightly";
    req.now = kNow;
    req.seal.zstd.workers = 1;
    return req;
  }

  Result<BackupJobResult> Run(const BackupJobRequest& req, const std::atomic<bool>& cancel) {
    return RunBackupJob(req, *backend_, progress_, cancel);
  }
  Result<BackupJobResult> Run(const BackupJobRequest& req) { return Run(req, no_cancel_); }

  // Every name in the storage directory, partials (".<name>.partial") included, sorted.
  std::vector<std::string> StoredNames() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(store_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  uint64_t StoredSize(const std::string& name) const { return fs::file_size(store_ + "/" + name); }

  static crypto::DomainKeys* keys_;
  std::string base_, tree_, store_;
  std::unique_ptr<storage::Backend> backend_;
  JobProgress progress_;
  std::atomic<bool> no_cancel_{false};
};

crypto::DomainKeys* BackupJobTest::keys_ = nullptr;

TEST_F(BackupJobTest, SuccessWritesExactlyOneFileUnderItsBackupName) {
  AddSmallTree();
  auto result = Run(Request());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::string expected = archive::MakeBackupName("nightly", "ca-01", kNow);
  EXPECT_EQ(result->name, expected);
  EXPECT_THAT(StoredNames(), ElementsAre(expected));
}

TEST_F(BackupJobTest, ResultSizeIsTheFileSize) {
  AddSmallTree();
  auto result = Run(Request());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_GT(result->size, 0u);
  EXPECT_EQ(result->size, StoredSize(result->name));
}

TEST_F(BackupJobTest, ResultHeaderDescribesTheBackup) {
  AddSmallTree();
  auto result = Run(Request());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->header.file_name, result->name);
  EXPECT_EQ(result->header.created_at, FormatUtc(kNow));
  EXPECT_EQ(result->header.device.hostname, "ca-01");
  EXPECT_EQ(result->header.domain_public_key, keys_->public_key);
  EXPECT_EQ(result->recovered, "");
}

TEST_F(BackupJobTest, ProgressCoversEveryInputByte) {
  uint64_t input = AddSmallTree();
  auto result = Run(Request());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(progress_.bytes_total.load(), input);
  EXPECT_EQ(progress_.bytes_done.load(), input);
}

TEST_F(BackupJobTest, WrittenFileVerifiesWithTheDomainKeys) {
  AddSmallTree();
  auto result = Run(Request());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto reader = backend_->NewReader(result->name);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  storage::ReaderSource in(std::move(reader).value());
  auto unpacked = archive::UnsealBackup(in, {keys_, nullptr}, "");
  ASSERT_TRUE(unpacked.ok()) << unpacked.status().ToString();
  EXPECT_EQ(unpacked->contents.files, 2u);
}

TEST_F(BackupJobTest, EachBackupChainsToTheOneBeforeIt) {
  // Issue 13, finding 4: a header carries its place among the device's backups, so that a
  // copy of an old one under a newer name shows its true place.
  AddSmallTree();
  BackupJobRequest req = Request();
  req.state_dir = base_ + "/state";
  fs::create_directories(req.state_dir);
  auto first = Run(req);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->header.chain.sequence, 1u);
  EXPECT_FALSE(first->header.chain.previous_header_sha256.has_value());
  auto second = Run(req);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->header.chain.sequence, 2u);
  // The digest of the first file's signed header, as a reader computes it.
  auto reader = backend_->NewReader(first->name);
  ASSERT_TRUE(reader.ok());
  storage::ReaderSource in(std::move(reader).value());
  auto sealed = archive::ReadSealedHeader(in);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->header.chain.sequence, 1u);
  ASSERT_TRUE(second->header.chain.previous_header_sha256.has_value());
  EXPECT_EQ(*second->header.chain.previous_header_sha256, sealed->digest);
  auto last = appliance::LoadLastBackup(req.state_dir);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->sequence, 2u);
  EXPECT_EQ(last->file_name, second->name);
  // Without a state directory (trees, not an appliance) there is no chain.
  auto loose = Run(Request());
  ASSERT_TRUE(loose.ok());
  EXPECT_EQ(loose->header.chain.sequence, 0u);
}

TEST_F(BackupJobTest, SecondJobInTheSameSecondGetsSequenceTwo) {
  AddSmallTree();
  auto first = Run(Request());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Run(Request());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  std::string expected = archive::MakeBackupName("nightly", "ca-01", kNow, 2);
  EXPECT_EQ(second->name, expected);
  EXPECT_THAT(expected, HasSubstr("-2.ksb"));
  EXPECT_THAT(StoredNames(), UnorderedElementsAre(first->name, expected));
}

TEST_F(BackupJobTest, InvalidPrefixIsRefusedBeforeWriting) {
  AddSmallTree();
  BackupJobRequest req = Request();
  req.prefix = "bad/prefix";
  auto result = Run(req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument) << result.status().ToString();
  EXPECT_THAT(result.status().message(), HasSubstr("prefix"));
  EXPECT_THAT(StoredNames(), IsEmpty());
}

TEST_F(BackupJobTest, CancelBeforeStartWritesNothing) {
  AddSmallTree();
  std::atomic<bool> cancel{true};
  auto result = Run(Request(), cancel);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kCancelled) << result.status().ToString();
  EXPECT_THAT(result.status().message(), HasSubstr("aborted"));
  EXPECT_THAT(StoredNames(), IsEmpty());
}

TEST_F(BackupJobTest, CancelWhileWritingLeavesNothing) {
  // Zeros: cheap to store, not instant to seal. They compress to almost nothing, so the
  // pipeline may only notice the cancellation after sealing; either way nothing may remain.
  constexpr uint64_t kInput = 384ull << 20;
  AddSparseFile("zeros.bin", kInput);
  BackupJobRequest req = Request();
  req.expected_size = 1;  // the sparse input needs next to no space
  std::atomic<bool> cancel{false};
  std::atomic<bool> finished{false};
  std::thread canceller([&] {
    // Cancel once the job is demonstrably writing (past the checks before it).
    while (!finished && progress_.bytes_done.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    cancel = true;
  });
  auto result = Run(req, cancel);
  finished = true;
  canceller.join();
  ASSERT_FALSE(result.ok()) << "the job finished before it was cancelled";
  EXPECT_EQ(result.status().code(), ErrorCode::kCancelled) << result.status().ToString();
  EXPECT_THAT(StoredNames(), IsEmpty());
  // The cancellation is seen per block read, not only per block written: data that
  // compresses to nothing must not be read to the end first.
  EXPECT_LT(progress_.bytes_done.load(), kInput / 2);
}

TEST_F(BackupJobTest, ExpectedSizeBeyondFreeSpaceIsNoSpaceAndWritesNothing) {
  AddSmallTree();
  BackupJobRequest req = Request();
  req.expected_size = UINT64_MAX / 2;
  auto result = Run(req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kNoSpace) << result.status().ToString();
  EXPECT_THAT(result.status().message(), HasSubstr("Insufficient storage space"));
  EXPECT_THAT(result.status().message(), HasSubstr("needed"));
  EXPECT_THAT(result.status().message(), HasSubstr(HumanBytes(UINT64_MAX / 2)));
  EXPECT_THAT(StoredNames(), IsEmpty());
}

TEST_F(BackupJobTest, MissingSourceIsNotFoundAndWritesNothing) {
  BackupJobRequest req = Request();
  req.sources = {{"tree", {{"", base_ + "/no-such-dir"}}, ""}};
  auto result = Run(req);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kNotFound) << result.status().ToString();
  EXPECT_THAT(StoredNames(), IsEmpty());
}

TEST(BackupJobHumanBytesTest, FormatsInAdministratorUnits) {
  EXPECT_EQ(HumanBytes(0), "0 bytes");
  EXPECT_EQ(HumanBytes(1023), "1023 bytes");
  EXPECT_EQ(HumanBytes(1024), "1.0 KiB");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(5ull << 30), "5.0 GiB");
}

}  // namespace
}  // namespace keepsake::service
