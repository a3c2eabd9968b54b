// The Webconf's files: served from their directory only, revalidated by ETag, and the app's
// own 404 page for every path that names no file.
#include "web/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/test_temp_dir.h"

namespace keepsake::web {
namespace {

namespace fs = std::filesystem;

std::string Header(const HttpAnswer& answer, const std::string& name) {
  for (const auto& [key, value] : answer.headers) {
    if (key == name) return value;
  }
  return "";
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/webconf";
    fs::create_directories(dir_ + "/img");
    Write(dir_ + "/index.html", "<!doctype html><title>Keepsake</title>");
    Write(dir_ + "/app.js", "export {}");
    Write(dir_ + "/img/logo.svg", "<svg/>");
    Write(dir_ + "/404.html", "<!doctype html><h1>Page not found</h1>");
    Write(dir_ + "/.secret", "hidden");
    Write(tmp_.path() + "/outside.txt", "not served");
  }
  static void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  TestTempDir tmp_{"static_files"};
  std::string dir_;
};

TEST_F(StaticFilesTest, ServesFilesWithTheirTypeAndAnETagThatRevalidates) {
  StaticFiles files(dir_);
  HttpAnswer index = files.Serve("/", "");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><title>Keepsake</title>");
  EXPECT_EQ(Header(index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(Header(index, "Cache-Control"), "no-cache");
  HttpAnswer js = files.Serve("/app.js", "");
  EXPECT_EQ(Header(js, "Content-Type"), "text/javascript; charset=utf-8");
  std::string etag = Header(js, "ETag");
  ASSERT_FALSE(etag.empty());
  HttpAnswer again = files.Serve("/app.js", etag);
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(files.Serve("/img/logo.svg", "").status, 200);
  EXPECT_EQ(files.Serve("/img%2Flogo.svg", "").status, 200) << "decoded, then checked";
}

TEST_F(StaticFilesTest, AnythingThatCouldLeaveTheDirectoryOrIsHiddenIsTheNotFoundPage) {
  StaticFiles files(dir_);
  for (std::string path : {"/../outside.txt", "/%2e%2e/outside.txt", "/img/../../outside.txt", "/.secret",
                           "/app.js%00.png", "//etc/passwd", "/no-such-page", "/img", "/a+b"}) {
    HttpAnswer answer = files.Serve(path, "");
    EXPECT_EQ(answer.status, 404) << path;
    EXPECT_EQ(answer.body, "<!doctype html><h1>Page not found</h1>") << path;
  }
}

TEST(EventFeedTest, AStreamGetsTheLastEventAtOnceThenEveryNewOneUntilItLeaves) {
  EventFeed feed;
  feed.Publish("one");
  std::vector<std::string> got;
  bool open = true;
  feed.Join([&](const std::string& e) {
    if (!open) return false;
    got.push_back(e);
    return true;
  });
  feed.Publish("two");
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(feed.streams(), 1u);
  open = false;
  feed.Publish("three");
  EXPECT_EQ(feed.streams(), 0u) << "a stream that has gone is dropped";
}

}  // namespace
}  // namespace keepsake::web
