// Download, delete and upload of whole backup files, over a real engine (engine_test_env.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "service/backup_service.h"
#include "service/engine_test_env.h"

namespace keepsake::service {
namespace {

namespace fs = std::filesystem;
using testing::EngineTestEnv;
using ::testing::HasSubstr;

const Requester kAdmin{{"admin", "192.0.2.1"}, false};

void WaitIdle(BackupService& service) {
  for (int i = 0; i < 3000 && service.GetStatus().state != ServiceState::kIdle; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(service.GetStatus().state, ServiceState::kIdle);
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

class BackupFilesTest : public ::testing::Test {
 protected:
  // A ready engine with one backup made; returns its name.
  std::string OneBackup() {
    service_ = env_.Open();
    EngineTestEnv::MakeReady(*service_);
    env_.ConfigureStorage(*service_);
    EXPECT_TRUE(service_->StartBackup(kAdmin).ok());
    WaitIdle(*service_);
    return service_->GetStatus().last_success->file;
  }

  std::string ReadAll(storage::Reader& reader) {
    std::string all, chunk(4096, '\0');
    for (;;) {
      auto n = reader.Read(std::as_writable_bytes(std::span(chunk.data(), chunk.size())));
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (!n.ok() || *n == 0) return all;
      all.append(chunk.data(), *n);
    }
  }

  // Puts `data` where the server streams an upload, as it would.
  std::string Part(const std::string& data, int n = 1) {
    std::string part = service_->UploadDir() + "/upload-test-" + std::to_string(n) + ".part";
    WriteFile(part, data);
    return part;
  }

  EngineTestEnv env_;
  std::unique_ptr<BackupService> service_;
};

TEST_F(BackupFilesTest, ADownloadIsTheFileAsStoredAndIsAudited) {
  std::string name = OneBackup();
  auto download = service_->OpenBackupFile(name, kAdmin);
  ASSERT_TRUE(download.ok()) << download.status().ToString();
  std::string stored = env_.store().Get(name).value();
  EXPECT_EQ(download->size, stored.size());
  EXPECT_EQ(ReadAll(*download->reader), stored);
  EXPECT_THAT(env_.audit_text(), HasSubstr("\"backup.downloaded\""));
}

TEST_F(BackupFilesTest, NamesThatAreNotBackupFilesAreRefusedBeforeTheStorageIsAsked) {
  OneBackup();
  for (std::string bad : {"../etc/passwd", "notes.txt", "a/b_20260101T000000Z.ksb", ""}) {
    EXPECT_EQ(service_->OpenBackupFile(bad, kAdmin).status().code(), ErrorCode::kInvalidArgument) << bad;
    Status st = service_->DeleteBackup(bad, kAdmin);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_THAT(st.message(), HasSubstr("is not a backup file name"));
  }
}

TEST_F(BackupFilesTest, DeleteRemovesTheFileAndIsAudited) {
  std::string name = OneBackup();
  ASSERT_TRUE(service_->DeleteBackup(name, kAdmin).ok());
  EXPECT_FALSE(env_.store().Get(name).has_value());
  EXPECT_THAT(env_.audit_text(), HasSubstr("\"backup.deleted\""));
  EXPECT_EQ(service_->DeleteBackup(name, kAdmin).code(), ErrorCode::kNotFound);
}

TEST_F(BackupFilesTest, AnUploadedBackupIsReadAndRestoredThenGivesItsSpaceBack) {
  std::string name = OneBackup();
  std::string bytes = env_.store().Get(name).value();
  auto listing = service_->AcceptUpload(Part(bytes), name, kAdmin);
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  ASSERT_TRUE(listing->details.has_value()) << listing->error;
  EXPECT_EQ(listing->entry.size, bytes.size());
  EXPECT_THAT(env_.audit_text(), HasSubstr("\"backup.uploaded\""));

  RestoreJobOptions dry{name, {}, {}, /*dry_run=*/true, EngineTestEnv::Dms(), /*from_upload=*/true};
  ASSERT_TRUE(service_->StartRestore(std::move(dry), kAdmin).ok());
  WaitIdle(*service_);
  EXPECT_TRUE(service_->UploadedBackup().value().has_value()) << "a dry run keeps the upload";

  RestoreJobOptions real{name, {}, {}, false, EngineTestEnv::Dms(), /*from_upload=*/true};
  ASSERT_TRUE(service_->StartRestore(std::move(real), kAdmin).ok());
  WaitIdle(*service_);
  auto jobs = service_->History(1, state::JobKind::kRestore);
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->front().result, state::JobResult::kSucceeded) << jobs->front().error;
  EXPECT_FALSE(service_->UploadedBackup().value().has_value()) << "restored: the upload is gone";
}

TEST_F(BackupFilesTest, ADamagedUploadIsKeptAndSaidToBeDamagedAndANewUploadReplacesIt) {
  std::string name = OneBackup();
  auto damaged = service_->AcceptUpload(Part("not a backup at all"), "x_20260101T000000Z.ksb", kAdmin);
  ASSERT_TRUE(damaged.ok()) << damaged.status().ToString();
  EXPECT_FALSE(damaged->details.has_value());
  EXPECT_NE(damaged->error, "");

  auto good = service_->AcceptUpload(Part(env_.store().Get(name).value(), 2), name, kAdmin);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_TRUE(good->details.has_value());
  EXPECT_FALSE(fs::exists(service_->UploadDir() + "/x_20260101T000000Z.ksb")) << "one upload at a time";
  ASSERT_TRUE(service_->DiscardUpload(kAdmin).ok());
  EXPECT_EQ(service_->DiscardUpload(kAdmin).code(), ErrorCode::kNotFound);
}

TEST_F(BackupFilesTest, AnUploadNeedsABackupNameAndAPartOfTheUploadDirectory) {
  OneBackup();
  EXPECT_EQ(service_->AcceptUpload(Part("x"), "../../keystore", kAdmin).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->AcceptUpload(env_.state_dir() + "/state.db", "x_20260101T000000Z.ksb", kAdmin).status().code(),
            ErrorCode::kInternal);
  EXPECT_TRUE(fs::exists(env_.state_dir() + "/state.db"));
}

TEST_F(BackupFilesTest, PartsOfUploadsCutShortAreRemovedAtStart) {
  fs::create_directories(env_.state_dir() + "/uploads");
  WriteFile(env_.state_dir() + "/uploads/upload-9.part", "half an upload");
  service_ = env_.Open();
  EXPECT_FALSE(fs::exists(env_.state_dir() + "/uploads/upload-9.part"));
  EXPECT_EQ(fs::status(service_->UploadDir()).permissions() & fs::perms::all, fs::perms::owner_all);
}

}  // namespace
}  // namespace keepsake::service
