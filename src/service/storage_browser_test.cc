#include "service/storage_browser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "service/engine_test_env.h"
#include "storage/mem_backend.h"

namespace keepsake::service {
namespace {

using ::testing::ElementsAre;
using testing::EngineTestEnv;

std::vector<std::string> Names(const StorageListing& l) {
  std::vector<std::string> out;
  for (const auto& e : l.entries) out.push_back(e.name);
  return out;
}

class StorageBrowserTest : public ::testing::Test {
 protected:
  std::shared_ptr<storage::MemStore> store_ =
      std::make_shared<storage::MemStore>(storage::MemStoreOptions{1000, false, "mem://nas"});
  storage::MemBackend backend_{store_};
};

TEST_F(StorageBrowserTest, DirectoriesFirstPartialsHiddenAndTheWayUp) {
  store_->PutRaw("b.ksb", "x");
  store_->PutRaw("z/inner.ksb", "x");
  store_->PutRaw("a/inner.ksb", "x");
  store_->PutRaw(".c.ksb.partial", "half");
  auto root = BrowseStorage(backend_, "mem://nas", "", "");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_THAT(Names(*root), ElementsAre("a", "z", "b.ksb"));
  EXPECT_EQ(root->parent, std::nullopt);
  auto down = BrowseStorage(backend_, "mem://nas", "a", "");
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->parent, "");
  EXPECT_EQ(down->info.path, "a");
}

TEST_F(StorageBrowserTest, FilterIsCaseInsensitive) {
  store_->PutRaw("Nightly.ksb", "x");
  store_->PutRaw("weekly.ksb", "x");
  auto found = BrowseStorage(backend_, "mem://nas", "", "NIGHT");
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(Names(*found), ElementsAre("Nightly.ksb"));
}

TEST_F(StorageBrowserTest, NothingAboveTheRootCanBeNamed) {
  for (const char* bad : {"..", "../etc", "/etc", "a/../.."}) {
    EXPECT_EQ(BrowseStorage(backend_, "mem://nas", bad, "").status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST_F(StorageBrowserTest, InfoTellsPermissionAndSpace) {
  store_->PutRaw("a.ksb", std::string(900, 'x'));
  store_->set_read_only(true);
  auto info = ReadStorageInfo(backend_, "mem://nas", "");
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->access.can_write);
  EXPECT_EQ(info->capacity.total, 1000u);
  EXPECT_EQ(info->capacity.free, 100u);
  EXPECT_TRUE(LowOnSpace(info->capacity));
}

TEST_F(StorageBrowserTest, DetailsOfARealBackupAndOfATamperedOne) {
  EngineTestEnv env;
  auto service = env.Open();
  EngineTestEnv::MakeReady(*service);
  env.ConfigureStorage(*service);
  ASSERT_TRUE(service->StartBackup({{"admin", ""}, false}).ok());
  for (int i = 0; i < 3000 && service->GetStatus().state != ServiceState::kIdle; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string name = service->GetStatus().last_success->file;
  auto details = service->DetailsOf(name);
  ASSERT_TRUE(details.ok()) << details.status().ToString();
  EXPECT_EQ(details->trust, DomainTrust::kThisDomain);
  EXPECT_EQ(details->header.file_name, name);
  // One byte of the signed header changed on the storage: refused, not shown.
  std::string bytes = *env.store().Get(name);
  bytes[40] = static_cast<char>(bytes[40] ^ 1);
  env.store().PutRaw(name, bytes);
  EXPECT_EQ(service->DetailsOf(name).status().code(), ErrorCode::kCorruption);
}

}  // namespace
}  // namespace keepsake::service
