#include "storage/faulty_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "storage/mem_backend.h"

namespace keepsake::storage {
namespace {

using ::testing::IsEmpty;

class FaultyBackendTest : public ::testing::Test {
 protected:
  std::shared_ptr<MemStore> store_ = std::make_shared<MemStore>();
  std::shared_ptr<FaultPlan> plan_ = std::make_shared<FaultPlan>();
  FaultyBackend backend_{std::make_unique<MemBackend>(store_), plan_};
};

TEST_F(FaultyBackendTest, WithoutFaultsItIsTheBackendItWraps) {
  auto writer = backend_.NewWriter("a.ksb");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(AsBytes("hello")).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ(store_->Get("a.ksb"), "hello");
  EXPECT_EQ(plan_->calls(StorageOp::kAppend), 1);
  EXPECT_EQ(plan_->calls(StorageOp::kCommit), 1);
}

TEST_F(FaultyBackendTest, AWriteFailsAfterNBytesAndLeavesNoFileUnderAFinalName) {
  plan_->FailWritesAfter(6, StatusFromErrno(EIO, "usb://STICK/a.ksb"));
  {
    auto writer = backend_.NewWriter("a.ksb");
    ASSERT_TRUE(writer.ok());
    EXPECT_TRUE((*writer)->Append(AsBytes("1234")).ok());
    Status failed = (*writer)->Append(AsBytes("5678"));
    EXPECT_EQ(failed.code(), ErrorCode::kIoError);
    EXPECT_EQ(failed.sys_errno(), EIO);
  }  // the writer is dropped without Commit, as a failed job drops it
  EXPECT_THAT(store_->Paths(), IsEmpty()) << "no backup and no partial";
}

TEST_F(FaultyBackendTest, ACommitCanFail) {
  plan_->Fail(StorageOp::kCommit, Status::Unavailable("nfs://nas: connection lost"));
  {
    auto writer = backend_.NewWriter("a.ksb");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append(AsBytes("x")).ok());
    EXPECT_EQ((*writer)->Commit().code(), ErrorCode::kUnavailable);
  }
  EXPECT_THAT(store_->Paths(), IsEmpty());
}

TEST_F(FaultyBackendTest, AReadBreaksOffAfterNBytes) {
  store_->PutRaw("a.ksb", std::string(100, 'x'));
  plan_->FailReadsAfter(40, Status::Unavailable("nfs://nas: connection lost"));
  auto reader = backend_.NewReader("a.ksb");
  ASSERT_TRUE(reader.ok());
  std::byte buf[32];
  EXPECT_EQ(*(*reader)->Read(buf), 32u);
  EXPECT_EQ((*reader)->Read(buf).status().code(), ErrorCode::kUnavailable);
}

TEST_F(FaultyBackendTest, AnyOperationCanBeRefusedAndCleared) {
  plan_->Fail(StorageOp::kList, Status::PermissionDenied("nfs://nas/backups: Permission denied"));
  plan_->Fail(StorageOp::kGetCapacity, Status::Unavailable("gone"));
  EXPECT_EQ(backend_.List("").status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(backend_.GetCapacity().status().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(backend_.Stat("").ok());
  plan_->Clear();
  EXPECT_TRUE(backend_.List("").ok());
  EXPECT_EQ(plan_->calls(StorageOp::kList), 2);
}

TEST_F(FaultyBackendTest, TheHookRunsBeforeEveryAppendAndRead) {
  std::vector<StorageOp> seen;
  plan_->SetHook([&](StorageOp op) { seen.push_back(op); });
  auto writer = backend_.NewWriter("a.ksb");
  ASSERT_TRUE((*writer)->Append(AsBytes("x")).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  auto reader = backend_.NewReader("a.ksb");
  std::byte buf[4];
  ASSERT_TRUE((*reader)->Read(buf).ok());
  EXPECT_EQ(seen, (std::vector<StorageOp>{StorageOp::kAppend, StorageOp::kRead}));
}

}  // namespace
}  // namespace keepsake::storage
