#include "storage/nfs_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/backend.h"

namespace keepsake::storage {
namespace {

using ::testing::HasSubstr;

TEST(NfsUrlTest, ParsesHostPortPathAndVersion) {
  auto url = ParseNfsUrl("nfs://nas.example.org:20490/exports/backups?version=4.1");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->host, "nas.example.org");
  EXPECT_EQ(url->port, 20490);
  EXPECT_EQ(url->path, "/exports/backups");
  EXPECT_EQ(url->version, "4.1");
  EXPECT_EQ(url->EffectivePort(), 20490);
}

TEST(NfsUrlTest, DefaultsArePort2049AndVersion4) {
  auto url = ParseNfsUrl("nfs://10.0.0.5/backups");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->port, 0);
  EXPECT_EQ(url->EffectivePort(), 2049);
  EXPECT_EQ(url->version, "4");
}

TEST(NfsUrlTest, CanonicalFormDropsDefaultsAndTrailingSlashes) {
  auto canonical = [](std::string_view in) {
    auto url = ParseNfsUrl(in);
    return url.ok() ? url->ToString() : url.status().ToString();
  };
  EXPECT_EQ(canonical("NFS://NAS.Example.org/backups/"), "nfs://nas.example.org/backups");
  EXPECT_EQ(canonical("nfs://nas:2049/backups?version=4"), "nfs://nas/backups");
  EXPECT_EQ(canonical("nfs://nas/backups?version=4.0"), "nfs://nas/backups");
  EXPECT_EQ(canonical("nfs://nas:20490/a/b?version=4.2"), "nfs://nas:20490/a/b?version=4.2");
  EXPECT_EQ(canonical("nfs://nas/backups?"), "nfs://nas/backups");
  EXPECT_EQ(ParseNfsUrl("nfs://nas:20490/a/b?version=4.2")->Location(), "nfs://nas:20490/a/b");
}

TEST(NfsUrlTest, CanonicalFormParsesBackToTheSame) {
  for (const char* in : {"nfs://h/p", "nfs://h:1/p/q?version=4.1", "nfs://192.168.1.10/x?version=4.2"}) {
    auto url = ParseNfsUrl(in);
    ASSERT_TRUE(url.ok()) << in;
    auto again = ParseNfsUrl(url->ToString());
    ASSERT_TRUE(again.ok()) << in;
    EXPECT_EQ(again->ToString(), url->ToString());
  }
}

struct BadUrl {
  const char* url;
  const char* why;  // a key word of the message
};

TEST(NfsUrlTest, RefusesBadUrlsNamingThemAndTheProblem) {
  const BadUrl cases[] = {
      {"nfs://", "server"},
      {"nfs:///backups", "server"},
      {"nfs://-bad/backups", "server name"},
      {"nfs://bad_host/backups", "server name"},
      {"nfs://a..b/backups", "server name"},
      {"nfs://[::1]/backups", "IPv6"},
      {"nfs://user@nas/backups", "user names"},
      {"nfs://nas:0/backups", "port"},
      {"nfs://nas:65536/backups", "port"},
      {"nfs://nas:abc/backups", "port"},
      {"nfs://nas:/backups", "port"},
      {"nfs://nas", "export path is missing"},
      {"nfs://nas/", "export path is missing"},
      {"nfs://nas/a/../b", "\"..\""},
      {"nfs://nas/..", "\"..\""},
      {"nfs://nas/a/./b", "\".\""},
      {"nfs://nas/a//b", "empty component"},
      {"nfs://nas/a?version=3", "unknown NFS version"},
      {"nfs://nas/a?version=4.3", "unknown NFS version"},
      {"nfs://nas/a?version=", "unknown NFS version"},
      {"nfs://nas/a?vers=4", "unknown parameter"},
      {"nfs://nas/a?version=4&timeout=5", "unknown parameter"},
      {"nfs://nas/a#frag", "fragment"},
      {"nfs://nas/a\tb", "control character"},
      {"file:///srv", "expected nfs://"},
  };
  for (const BadUrl& c : cases) {
    auto url = ParseNfsUrl(c.url);
    EXPECT_EQ(url.status().code(), ErrorCode::kInvalidArgument) << c.url;
    EXPECT_THAT(url.status().message(), HasSubstr(c.why)) << c.url;
    if (std::string_view(c.url).find('\t') == std::string_view::npos) {
      EXPECT_THAT(url.status().message(), HasSubstr(c.url)) << c.url;
    }
  }
}

TEST(NfsUrlTest, ControlBytesAreShownEscaped) {
  auto url = ParseNfsUrl(std::string_view("nfs://nas/a\0b\x7f", 14));
  EXPECT_EQ(url.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(url.status().message(), HasSubstr("nfs://nas/a\\x00b\\x7f"));
}

TEST(NfsUrlTest, NormalizeStorageUrlUsesTheNfsRules) {
  EXPECT_EQ(*NormalizeStorageUrl("Nfs://Server/export/"), "nfs://server/export");
  EXPECT_EQ(*NormalizeStorageUrl("nfs://server:2049/export?version=4.1"), "nfs://server/export?version=4.1");
  EXPECT_EQ(NormalizeStorageUrl("nfs://server/export?version=9").status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace keepsake::storage
