#include "daemon/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "base/test_temp_dir.h"

namespace keepsake::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Writes keepsaked.toml into a fresh directory and loads it over the defaults.
class ConfigFileTest : public ::testing::Test {
 protected:
  Status Load(const std::string& toml) {
    std::ofstream(path_) << toml;
    return LoadConfigFile(path_, config_);
  }

  // The "<path>:<line>: " every error about the file starts with.
  std::string At(int line) const { return path_ + ":" + std::to_string(line) + ": "; }

  TestTempDir tmp_{"ks_config"};
  std::string dir_ = tmp_.path();
  std::string path_ = dir_ + "/keepsaked.toml";
  DaemonConfig config_;
};

TEST_F(ConfigFileTest, FullFileSetsEveryField) {
  Status st = Load(R"(# keepsaked configuration
state_dir = "/srv/keepsake/state"
appliance_root = "/srv/appliance"
listen = "[::1]:9443"
log_level = "debug"
http_threads = 4
http_client_connections = 8
http_head_seconds = 3
zstd_level = 9
job_nice = 19
kdf_ops = 2
kdf_mem_kib = 65536
)");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(config_.state_dir, "/srv/keepsake/state");
  EXPECT_EQ(config_.appliance_root, "/srv/appliance");
  EXPECT_EQ(config_.listen, "[::1]:9443");
  EXPECT_EQ(config_.log_level, "debug");
  EXPECT_EQ(config_.http_threads, 4);
  EXPECT_EQ(config_.http_client_connections, 8);
  EXPECT_EQ(config_.http_head_seconds, 3);
  EXPECT_EQ(config_.zstd_level, 9);
  EXPECT_EQ(config_.job_nice, 19);
  EXPECT_EQ(config_.kdf.opslimit, 2u);
  EXPECT_EQ(config_.kdf.memlimit_kib, 65536u);
}

TEST_F(ConfigFileTest, EmptyFileKeepsDefaults) {
  ASSERT_TRUE(Load("").ok());
  DaemonConfig defaults;
  EXPECT_EQ(config_.state_dir, defaults.state_dir);
  EXPECT_EQ(config_.listen, defaults.listen);
  EXPECT_EQ(config_.http_threads, defaults.http_threads);
  EXPECT_EQ(config_.kdf.memlimit_kib, defaults.kdf.memlimit_kib);
}

TEST_F(ConfigFileTest, UnsetKeysKeepTheirCallerValues) {
  config_.state_dir = "/from/caller";
  ASSERT_TRUE(Load("listen = \"0.0.0.0:80\"\n").ok());
  EXPECT_EQ(config_.state_dir, "/from/caller");
  EXPECT_EQ(config_.listen, "0.0.0.0:80");
}

TEST_F(ConfigFileTest, UnknownKeyNamesItsLine) {
  Status st = Load("state_dir = \"/x\"\n\nstate_dri = \"/y\"\n");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message(), At(3) + "unknown setting \"state_dri\"");
}

TEST_F(ConfigFileTest, SeveralBadKeysNameTheFirstLine) {
  // toml++ iterates in name order ("aaa" before "zzz"); the error names the earlier line.
  Status st = Load("zzz = 1\nstate_dir = \"/x\"\naaa = 2\n");
  EXPECT_EQ(st.message(), At(1) + "unknown setting \"zzz\"");
}

TEST_F(ConfigFileTest, StringKeyWithNumberNamesKeyAndLine) {
  Status st = Load("log_level = \"info\"\nlisten = 8080\n");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message(), At(2) + "listen must be a string");
}

TEST_F(ConfigFileTest, NumberKeyWithStringNamesKeyAndLine) {
  Status st = Load("\n\n\nhttp_threads = \"16\"\n");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message(), At(4) + "http_threads must be a whole number");
}

TEST_F(ConfigFileTest, FractionalNumberIsRefused) {
  Status st = Load("zstd_level = 2.5\n");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message(), At(1) + "zstd_level must be a whole number");
}

TEST_F(ConfigFileTest, NegativeNumberIsOutOfRange) {
  Status st = Load("job_nice = -1\n");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message(), At(1) + "job_nice = -1 is out of range");
}

TEST_F(ConfigFileTest, NumberBeyondInt32IsOutOfRange) {
  Status st = Load("kdf_mem_kib = 4294967296\n");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message(), At(1) + "kdf_mem_kib = 4294967296 is out of range");
}

TEST_F(ConfigFileTest, SectionIsNotASetting) {
  Status st = Load("state_dir = \"/x\"\n[server]\nlisten = \"h:1\"\n");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.ToString();
  EXPECT_THAT(st.message(), StartsWith(path_ + ":"));
  EXPECT_THAT(st.message(), HasSubstr("unknown setting \"server\""));
}

TEST_F(ConfigFileTest, SyntaxErrorNamesItsLine) {
  Status st = Load("state_dir = \"/x\"\nlisten = \"unterminated\n");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.ToString();
  EXPECT_THAT(st.message(), StartsWith(At(2)));
}

TEST_F(ConfigFileTest, MissingEqualsIsSyntaxErrorOnItsLine) {
  Status st = Load("# comment\n\nhttp_threads 4\n");
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.ToString();
  EXPECT_THAT(st.message(), StartsWith(At(3)));
}

TEST_F(ConfigFileTest, MissingFileIsNotFound) {
  Status st = LoadConfigFile(dir_ + "/absent.toml", config_);
  EXPECT_EQ(st.code(), ErrorCode::kNotFound) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr(dir_ + "/absent.toml"));
  EXPECT_THAT(st.message(), HasSubstr("not found"));
}

// --- ParseListen -----------------------------------------------------------------------

class ConfigListenTest : public ::testing::Test {
 protected:
  Status Parse(const std::string& listen) { return ParseListen(listen, host_, port_); }
  void ExpectRefused(const std::string& listen, std::string_view words) {
    Status st = Parse(listen);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << listen << ": " << st.ToString();
    EXPECT_THAT(st.message(), HasSubstr("\"" + listen + "\""));
    EXPECT_THAT(st.message(), HasSubstr(std::string(words)));
  }

  std::string host_;
  int port_ = -1;
};

TEST_F(ConfigListenTest, Ipv4HostAndPort) {
  ASSERT_TRUE(Parse("127.0.0.1:8080").ok());
  EXPECT_EQ(host_, "127.0.0.1");
  EXPECT_EQ(port_, 8080);
}

TEST_F(ConfigListenTest, BracketedIpv6WithPortZero) {
  ASSERT_TRUE(Parse("[::1]:0").ok());
  EXPECT_EQ(host_, "::1");
  EXPECT_EQ(port_, 0);
}

TEST_F(ConfigListenTest, HostWithoutPortIsRefused) { ExpectRefused("host", "expected HOST:PORT"); }

TEST_F(ConfigListenTest, PortWithoutHostIsRefused) { ExpectRefused(":80", "expected HOST:PORT"); }

TEST_F(ConfigListenTest, PortAbove65535IsRefused) { ExpectRefused("h:70000", "port must be 0-65535"); }

TEST_F(ConfigListenTest, NonNumericPortIsRefused) { ExpectRefused("h:x", "port must be 0-65535"); }

TEST_F(ConfigListenTest, EmptyPortIsRefused) { ExpectRefused("h:", "port must be 0-65535"); }

TEST_F(ConfigListenTest, NegativePortIsRefused) { ExpectRefused("h:-1", "port must be 0-65535"); }

TEST_F(ConfigListenTest, SpaceOrSignInPortIsRefused) {
  ExpectRefused("h: 80", "port must be 0-65535");
  ExpectRefused("h:+80", "port must be 0-65535");
}

TEST(ConfigValidateTest, DefaultsAreValid) { EXPECT_TRUE(ValidateConfig(DaemonConfig{}).ok()); }

TEST(ConfigValidateTest, OutOfRangeValuesAreNamed) {
  auto expect_refused = [](DaemonConfig c, std::string_view words) {
    Status st = ValidateConfig(c);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.ToString();
    EXPECT_THAT(st.message(), HasSubstr(std::string(words)));
  };
  DaemonConfig c;
  c.zstd_level = 25;
  expect_refused(c, "zstd_level = 25 is out of range 1..19");
  c = {};
  c.http_threads = 0;
  expect_refused(c, "http_threads = 0");
  c = {};
  c.job_nice = 20;
  expect_refused(c, "job_nice = 20");
  c = {};
  c.log_level = "loud";
  expect_refused(c, "log_level \"loud\"");
  c = {};
  c.listen = "nowhere";
  expect_refused(c, "expected HOST:PORT");
}

TEST_F(ConfigFileTest, UsbSettingsAreRead) {
  Status st = Load("usb_poll_seconds = 5\nusb_mount_dir = \"/run/ks-test/usb\"\nusb_admit_loop_devices = true\n");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(config_.usb_poll_seconds, 5);
  EXPECT_EQ(config_.usb_mount_dir, "/run/ks-test/usb");
  EXPECT_TRUE(config_.usb_admit_loop_devices);
  EXPECT_FALSE(DaemonConfig{}.usb_admit_loop_devices);  // the test switch is off by default
}

TEST(ConfigValidateTest, UsbPollAndMountDirAreChecked) {
  DaemonConfig c;
  c.usb_poll_seconds = 0;
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("usb_poll_seconds = 0 is out of range 1..86400"));
  for (const char* dir : {"/", "", "run/usb", "/run/usb/", "/run/../usb", "/run//usb"}) {
    c = {};
    c.usb_mount_dir = dir;
    Status st = ValidateConfig(c);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << dir;
    EXPECT_THAT(st.message(), HasSubstr("usb_mount_dir")) << dir;
  }
}

}  // namespace
}  // namespace keepsake::daemon
