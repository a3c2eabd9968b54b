#include "service/backup_settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/test_temp_dir.h"

namespace keepsake::service {
namespace {

using ::testing::HasSubstr;

void ExpectError(const Status& st, ErrorCode code, std::string_view words) {
  EXPECT_EQ(st.code(), code) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr(std::string(words)));
}

// --- StorageFromJson / StorageToJson ---------------------------------------------------

class StorageJsonTest : public ::testing::Test {
 protected:
  static Status Refused(const nlohmann::json& j) {
    auto s = StorageFromJson(j);
    EXPECT_FALSE(s.ok()) << j.dump() << " was accepted";
    return s.ok() ? Status() : s.status();
  }
  static StorageSettings Parsed(const nlohmann::json& j) {
    auto s = StorageFromJson(j);
    EXPECT_TRUE(s.ok()) << j.dump() << ": " << s.status().ToString();
    return s.ok() ? *s : StorageSettings{};
  }
};

TEST_F(StorageJsonTest, NoneParsesWithoutPathOrUrl) {
  StorageSettings s = Parsed({{"type", "none"}});
  EXPECT_EQ(s.type, "none");
  EXPECT_EQ(s.url(), "");
}

TEST_F(StorageJsonTest, NoneSerialisesAsTypeOnly) {
  EXPECT_EQ(StorageToJson(StorageSettings{}), nlohmann::json({{"type", "none"}}));
}

TEST_F(StorageJsonTest, NoneWithAUrlIsRefused) {
  ExpectError(Refused({{"type", "none"}, {"url", "file:///srv"}}), ErrorCode::kInvalidArgument, "takes no");
}

TEST_F(StorageJsonTest, LocalWithAbsolutePathParses) {
  StorageSettings s = Parsed({{"type", "local"}, {"path", "/srv/backups"}});
  EXPECT_EQ(s.type, "local");
  EXPECT_EQ(s.url(), "file:///srv/backups");
}

TEST_F(StorageJsonTest, LocalSerialisesPathAndUrl) {
  StorageSettings s = Parsed({{"url", "file:///srv/backups"}});
  EXPECT_EQ(StorageToJson(s),
            nlohmann::json({{"type", "local"}, {"path", "/srv/backups"}, {"url", "file:///srv/backups"}}));
}

TEST_F(StorageJsonTest, EveryTypeRoundTripsThroughItsOwnJson) {
  for (const char* url : {"file:///mnt/keepsake", "nfs://10.0.0.5/exports/backups", "usb://BACKUPS/keepsake"}) {
    StorageSettings s = Parsed({{"url", url}});
    StorageSettings back = Parsed(StorageToJson(s));
    EXPECT_EQ(back.type, s.type) << url;
    EXPECT_EQ(back.url(), s.url()) << url;
  }
}

TEST_F(StorageJsonTest, TypeFollowsFromTheScheme) {
  EXPECT_EQ(Parsed({{"url", "file:///srv"}}).type, "local");
  EXPECT_EQ(Parsed({{"url", "nfs://nas.example/backups"}}).type, "nfs");
  EXPECT_EQ(Parsed({{"url", "usb://BACKUPS"}}).type, "usb");
}

TEST_F(StorageJsonTest, TypeThatContradictsTheUrlIsRefused) {
  ExpectError(Refused({{"type", "usb"}, {"url", "nfs://nas/backups"}}), ErrorCode::kInvalidArgument,
              "type \"usb\" does not match the URL nfs://nas/backups");
}

TEST_F(StorageJsonTest, PathBelowAUrlIsJoined) {
  EXPECT_EQ(Parsed({{"url", "usb://BACKUPS"}, {"path", "keepsake/daily"}}).url(), "usb://BACKUPS/keepsake/daily");
  EXPECT_EQ(Parsed({{"url", "file:///srv/"}, {"path", "appliance"}}).url(), "file:///srv/appliance");
}

TEST_F(StorageJsonTest, PathBelowAUrlMayNotClimbOut) {
  ExpectError(Refused({{"url", "file:///srv"}, {"path", "../etc"}}), ErrorCode::kInvalidArgument,
              "\"..\" is not allowed");
  ExpectError(Refused({{"url", "usb://BACKUPS"}, {"path", "/etc"}}), ErrorCode::kInvalidArgument,
              "absolute paths are not allowed");
}

TEST_F(StorageJsonTest, TrailingSlashesAreTrimmed) {
  EXPECT_EQ(Parsed({{"type", "local"}, {"path", "/srv/backups///"}}).url(), "file:///srv/backups");
}

TEST_F(StorageJsonTest, RootPathKeepsItsSlash) {
  EXPECT_EQ(Parsed({{"type", "local"}, {"path", "/"}}).url(), "file:///");
}

TEST_F(StorageJsonTest, RelativePathIsRefused) {
  ExpectError(Refused({{"type", "local"}, {"path", "srv/backups"}}), ErrorCode::kInvalidArgument,
              "an absolute directory path");
}

TEST_F(StorageJsonTest, DotDotInALocalPathIsRefused) {
  ExpectError(Refused({{"type", "local"}, {"path", "/srv/../etc"}}), ErrorCode::kInvalidArgument, "without \"..\"");
}

TEST_F(StorageJsonTest, EmptyPathIsRefused) {
  ExpectError(Refused({{"type", "local"}, {"path", ""}}), ErrorCode::kInvalidArgument, "needs \"path\"");
}

TEST_F(StorageJsonTest, MissingPathIsRefused) {
  ExpectError(Refused({{"type", "local"}}), ErrorCode::kInvalidArgument, "needs \"path\"");
}

TEST_F(StorageJsonTest, NonStringPathIsRefused) {
  ExpectError(Refused({{"type", "local"}, {"path", 42}}), ErrorCode::kInvalidArgument, "needs \"path\"");
}

TEST_F(StorageJsonTest, NetworkTypeWithoutUrlIsRefused) {
  ExpectError(Refused({{"type", "nfs"}, {"path", "/x"}}), ErrorCode::kInvalidArgument, "an nfs storage needs \"url\"");
}

TEST_F(StorageJsonTest, UnknownTypeIsRefused) {
  ExpectError(Refused({{"type", "smb"}, {"path", "/x"}}), ErrorCode::kInvalidArgument, "type \"smb\" is not supported");
}

TEST_F(StorageJsonTest, UnknownSchemeIsRefused) {
  ExpectError(Refused({{"url", "smb://nas/backups"}}), ErrorCode::kInvalidArgument, "unknown scheme \"smb\"");
}

TEST_F(StorageJsonTest, NeitherTypeNorUrlIsRefused) {
  ExpectError(Refused({{"path", "/srv/backups"}}), ErrorCode::kInvalidArgument, "give \"url\"");
}

TEST_F(StorageJsonTest, UnknownFieldIsRefused) {
  ExpectError(Refused({{"type", "local"}, {"path", "/srv"}, {"user", "bob"}}), ErrorCode::kInvalidArgument,
              "unknown field \"user\"");
}

TEST_F(StorageJsonTest, NonObjectIsRefused) {
  ExpectError(Refused(nlohmann::json("file:///srv")), ErrorCode::kInvalidArgument, "expected an object");
}

// --- ValidateSettings ------------------------------------------------------------------

TEST(BackupSettingsTest, DefaultsAreValid) { EXPECT_TRUE(ValidateSettings(BackupSettings{}).ok()); }

TEST(BackupSettingsTest, BadPrefixIsRefused) {
  BackupSettings s;
  s.prefix = "night/ly";
  ExpectError(ValidateSettings(s), ErrorCode::kInvalidArgument, "prefix");
}

TEST(BackupSettingsTest, RelativeStoragePathIsRefused) {
  BackupSettings s;
  s.storage.type = "local";
  s.storage.location = "file://backups";
  ExpectError(ValidateSettings(s), ErrorCode::kInvalidArgument, "absolute");
}

TEST(BackupSettingsTest, BadScheduleIsRefused) {
  BackupSettings s;
  s.schedule.kind = ScheduleKind::kDaily;
  s.schedule.hour = 24;
  ExpectError(ValidateSettings(s), ErrorCode::kInvalidArgument, "hour 24");
}

TEST(BackupSettingsTest, BadRetentionIsRefused) {
  BackupSettings s;
  s.retention.keep_daily = -1;
  ExpectError(ValidateSettings(s), ErrorCode::kInvalidArgument, "keep_daily -1");
}

// --- SettingsStore ---------------------------------------------------------------------

class SettingsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = state::StateDb::Open(dir_ + "/state.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    store_ = std::make_unique<SettingsStore>(*db_);
  }

  // Every part set away from its default.
  static BackupSettings Custom() {
    BackupSettings s;
    s.prefix = "nightly";
    s.storage.type = "local";
    s.storage.location = "file:///srv/backups";
    s.schedule.kind = ScheduleKind::kWeekly;
    s.schedule.day_of_week = 6;
    s.schedule.hour = 2;
    s.schedule.minute = 30;
    s.schedule.time_zone = "Europe/Berlin";
    s.retention = {3, 7, 4, 12};
    return s;
  }

  BackupSettings LoadOk() {
    auto s = store_->Load();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : BackupSettings{};
  }

  // Writes `value` under `key` behind SettingsStore's back, as an older or broken build might.
  void PutRaw(const std::string& key, const std::string& value) { ASSERT_TRUE(db_->PutSettings({{key, value}}).ok()); }

  static void ExpectSame(const BackupSettings& got, const BackupSettings& want) {
    EXPECT_EQ(got.prefix, want.prefix);
    EXPECT_EQ(got.storage.type, want.storage.type);
    EXPECT_EQ(got.storage.url(), want.storage.url());
    EXPECT_EQ(got.schedule, want.schedule);
    EXPECT_EQ(got.retention, want.retention);
  }

  TestTempDir tmp_{"ks_settings"};  // declared first: removed after db_ closes
  std::string dir_ = tmp_.path();
  std::unique_ptr<state::StateDb> db_;
  std::unique_ptr<SettingsStore> store_;
};

TEST_F(SettingsStoreTest, LoadOfFreshDatabaseGivesDefaults) { ExpectSame(LoadOk(), BackupSettings{}); }

TEST_F(SettingsStoreTest, SaveThenLoadRoundTripsEveryPart) {
  ASSERT_TRUE(store_->Save(Custom()).ok());
  ExpectSame(LoadOk(), Custom());
}

TEST_F(SettingsStoreTest, SaveThenLoadRoundTripsCronSchedule) {
  BackupSettings s = Custom();
  s.schedule = {};
  s.schedule.kind = ScheduleKind::kCron;
  s.schedule.cron = "0 15 3 ? * MON-FRI";
  s.schedule.time_zone = "America/New_York";
  ASSERT_TRUE(store_->Save(s).ok());
  ExpectSame(LoadOk(), s);
}

TEST_F(SettingsStoreTest, SavedSettingsSurviveReopen) {
  ASSERT_TRUE(store_->Save(Custom()).ok());
  store_.reset();
  db_.reset();
  auto db = state::StateDb::Open(dir_ + "/state.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  db_ = std::move(db).value();
  store_ = std::make_unique<SettingsStore>(*db_);
  ExpectSame(LoadOk(), Custom());
}

TEST_F(SettingsStoreTest, SaveOfInvalidSettingsStoresNothing) {
  ASSERT_TRUE(store_->Save(Custom()).ok());
  BackupSettings bad = Custom();
  bad.prefix = "changed";
  bad.storage.location = "file:///elsewhere";
  bad.retention.keep_monthly = 5000;  // out of range: the whole change is refused
  ExpectError(store_->Save(bad), ErrorCode::kInvalidArgument, "keep_monthly");
  ExpectSame(LoadOk(), Custom());
}

TEST_F(SettingsStoreTest, ScheduleAnchorIsUnsetAtFirst) {
  auto anchor = store_->ScheduleAnchor();
  ASSERT_TRUE(anchor.ok()) << anchor.status().ToString();
  EXPECT_EQ(*anchor, std::nullopt);
}

TEST_F(SettingsStoreTest, ScheduleAnchorRoundTrips) {
  ASSERT_TRUE(store_->SetScheduleAnchor(date::sys_seconds(std::chrono::seconds(1'790'000'000))).ok());
  auto anchor = store_->ScheduleAnchor();
  ASSERT_TRUE(anchor.ok()) << anchor.status().ToString();
  EXPECT_EQ(*anchor, date::sys_seconds(std::chrono::seconds(1'790'000'000)));
}

TEST_F(SettingsStoreTest, ScheduleAnchorIsIndependentOfSave) {
  ASSERT_TRUE(store_->SetScheduleAnchor(date::sys_seconds(std::chrono::seconds(42))).ok());
  ASSERT_TRUE(store_->Save(Custom()).ok());
  auto anchor = store_->ScheduleAnchor();
  ASSERT_TRUE(anchor.ok()) << anchor.status().ToString();
  EXPECT_EQ(*anchor, date::sys_seconds(std::chrono::seconds(42)));
}

TEST_F(SettingsStoreTest, ScheduleAnchorThatIsNotANumberIsCorruption) {
  for (const char* bad : {"abc", "12abc", ""}) {
    ASSERT_TRUE(db_->PutSettings({{"schedule_anchor", bad}}).ok());
    auto anchor = store_->ScheduleAnchor();
    EXPECT_EQ(anchor.status().code(), ErrorCode::kCorruption) << bad;
    EXPECT_THAT(anchor.status().message(), HasSubstr("schedule_anchor")) << bad;
  }
}

TEST_F(SettingsStoreTest, StoredValueThatIsNotJsonIsCorruption) {
  PutRaw("schedule", "{\"kind\": ");
  auto s = store_->Load();
  ASSERT_FALSE(s.ok());
  ExpectError(s.status(), ErrorCode::kCorruption, "setting schedule is not JSON");
}

TEST_F(SettingsStoreTest, StoredStorageThatNoLongerValidatesIsCorruption) {
  PutRaw("storage", R"({"type":"smb","path":"/x"})");
  auto s = store_->Load();
  ASSERT_FALSE(s.ok());
  ExpectError(s.status(), ErrorCode::kCorruption, "setting storage");
  EXPECT_THAT(s.status().message(), HasSubstr("\"smb\" is not supported"));
}

TEST_F(SettingsStoreTest, StoredRetentionThatNoLongerValidatesIsCorruption) {
  PutRaw("retention", R"({"keep_last": -3})");
  auto s = store_->Load();
  ASSERT_FALSE(s.ok());
  ExpectError(s.status(), ErrorCode::kCorruption, "setting retention");
  EXPECT_THAT(s.status().message(), HasSubstr("keep_last"));
}

}  // namespace
}  // namespace keepsake::service
