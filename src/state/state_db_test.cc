#include "state/state_db.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "base/test_temp_dir.h"

namespace keepsake::state {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A fresh directory per test holding state.db; the helpers reach the file the way an
// administrator (or a broken disk, or a newer Keepsake) would: behind StateDb's back.
class StateDbTest : public ::testing::Test {
 protected:
  std::unique_ptr<StateDb> OpenOk() {
    auto db = StateDb::Open(path_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  static std::optional<std::string> Get(StateDb& db, const std::string& key) {
    auto value = db.GetSetting(key);
    EXPECT_TRUE(value.ok()) << value.status().ToString();
    return value.ok() ? *value : std::nullopt;
  }

  // Runs `sql` on a connection of its own, as the sqlite3 shell would.
  void ExecDirect(const std::string& sql) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(raw);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }

  void WriteGarbage(size_t bytes) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    for (size_t i = 0; i < bytes; ++i) out.put(static_cast<char>('A' + i % 26));
  }

  int Mode(const std::string& path) const {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return -1;
    return st.st_mode & 07777;
  }

  TestTempDir tmp_{"ks_state_db"};
  std::string dir_ = tmp_.path();
  std::string path_ = dir_ + "/state.db";
};

TEST_F(StateDbTest, OpenCreatesFileWithMode0600) {
  // A permissive umask must not widen the file: settings are nobody else's business.
  mode_t old = umask(0);
  auto db = OpenOk();
  umask(old);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(Mode(path_), 0600);
}

TEST_F(StateDbTest, WalSidecarFilesAreMode0600Too) {
  mode_t old = umask(0);
  auto db = OpenOk();
  ASSERT_NE(db, nullptr);
  Status st = db->PutSettings({{"prefix", "nightly"}});
  umask(old);
  ASSERT_TRUE(st.ok()) << st.ToString();
  // The write-ahead log holds recent settings until a checkpoint.
  ASSERT_TRUE(fs::exists(path_ + "-wal"));
  EXPECT_EQ(Mode(path_ + "-wal"), 0600);
  EXPECT_EQ(Mode(path_ + "-shm"), 0600);
}

TEST_F(StateDbTest, OpenCreatesEveryTableAtTheLatestSchemaVersion) {
  auto db = OpenOk();
  ASSERT_NE(db, nullptr);
  std::set<std::string> tables;
  ASSERT_TRUE(db->Query("SELECT name FROM sqlite_master WHERE type = 'table'", {}, [&](const auto& r) {
                  tables.insert(r[0]);
                }).ok());
  EXPECT_TRUE(tables.count("settings"));
  EXPECT_TRUE(tables.count("jobs"));
  EXPECT_TRUE(tables.count("tokens"));
  std::string version;
  ASSERT_TRUE(db->Query("PRAGMA user_version", {}, [&](const auto& r) { version = r[0]; }).ok());
  EXPECT_EQ(version, "3");
}

TEST_F(StateDbTest, GetSettingOfMissingKeyIsNullopt) {
  auto db = OpenOk();
  ASSERT_NE(db, nullptr);
  auto value = db->GetSetting("never_set");
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_FALSE(value->has_value());
}

TEST_F(StateDbTest, PutSettingsStoresEveryPair) {
  auto db = OpenOk();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->PutSettings({{"prefix", "nightly"}, {"storage", R"({"type":"none"})"}, {"empty", ""}}).ok());
  EXPECT_EQ(Get(*db, "prefix"), "nightly");
  EXPECT_EQ(Get(*db, "storage"), R"({"type":"none"})");
  EXPECT_EQ(Get(*db, "empty"), "");
}

TEST_F(StateDbTest, PutSettingsOverwritesExistingValues) {
  auto db = OpenOk();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->PutSettings({{"prefix", "old"}, {"other", "kept"}}).ok());
  ASSERT_TRUE(db->PutSettings({{"prefix", "new"}}).ok());
  EXPECT_EQ(Get(*db, "prefix"), "new");
  EXPECT_EQ(Get(*db, "other"), "kept");
}

TEST_F(StateDbTest, ReopenKeepsValues) {
  {
    auto db = OpenOk();
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->PutSettings({{"prefix", "nightly"}}).ok());
  }
  auto db = OpenOk();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(Get(*db, "prefix"), "nightly");
}

TEST_F(StateDbTest, FailingPutSettingsLeavesEveryOldValue) {
  {
    auto db = OpenOk();
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->PutSettings({{"first", "old"}}).ok());
  }
  // The second pair of the batch is refused after the first one was written.
  ExecDirect(
      "CREATE TRIGGER refuse_bad BEFORE INSERT ON settings WHEN NEW.key = 'bad' "
      "BEGIN SELECT RAISE(ABORT, 'bad key refused'); END;");
  auto db = OpenOk();
  ASSERT_NE(db, nullptr);
  Status st = db->PutSettings({{"first", "new"}, {"second", "new"}, {"bad", "x"}});
  EXPECT_EQ(st.code(), ErrorCode::kIoError) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("save settings"));
  EXPECT_THAT(st.message(), HasSubstr("bad key refused"));
  EXPECT_EQ(Get(*db, "first"), "old");
  EXPECT_EQ(Get(*db, "second"), std::nullopt);
  // The connection is usable again: the failed transaction was rolled back.
  EXPECT_TRUE(db->PutSettings({{"first", "newer"}}).ok());
  EXPECT_EQ(Get(*db, "first"), "newer");
}

TEST_F(StateDbTest, OpenOfNonDatabaseFileIsCorruption) {
  WriteGarbage(4096);
  auto db = StateDb::Open(path_);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), ErrorCode::kCorruption) << db.status().ToString();
  EXPECT_THAT(db.status().message(), HasSubstr(path_));
}

TEST_F(StateDbTest, OpenOfDatabaseFromNewerVersionIsNotSupported) {
  { ASSERT_NE(OpenOk(), nullptr); }
  ExecDirect("PRAGMA user_version=99");
  auto db = StateDb::Open(path_);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), ErrorCode::kNotSupported) << db.status().ToString();
  EXPECT_THAT(db.status().message(), HasSubstr("newer"));
  EXPECT_THAT(db.status().message(), HasSubstr("99"));
  EXPECT_THAT(db.status().message(), HasSubstr(path_));
}

TEST_F(StateDbTest, OpenInMissingDirectoryIsNotFound) {
  path_ = dir_ + "/missing/state.db";
  auto db = StateDb::Open(path_);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), ErrorCode::kNotFound) << db.status().ToString();
  EXPECT_THAT(db.status().message(), HasSubstr(path_));
}

TEST_F(StateDbTest, QueryBindsNullForNulloptAndReadsItAsEmpty) {
  auto db = OpenOk();
  ASSERT_NE(db, nullptr);
  std::vector<std::string> row;
  ASSERT_TRUE(db->Query("SELECT ?, ? IS NULL", {std::nullopt, std::nullopt}, [&](const auto& r) { row = r; }).ok());
  EXPECT_EQ(row, (std::vector<std::string>{"", "1"}));
}

}  // namespace
}  // namespace keepsake::state
