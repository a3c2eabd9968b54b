// For tests only (included by *_test.cc, never by the product): a fresh directory under /tmp
// that lives as long as the object and is removed, with everything in it, when it goes.
//
//   class FooTest : public ::testing::Test {
//    protected:
//     TestTempDir tmp_{"ks_foo"};         // /tmp/ks_foo_XXXXXX, one per test
//     std::string dir_ = tmp_.path();
//   };
//
// Declare it before members that hold files open in it (a StateDb, ...): members are destroyed
// in reverse order, so those close before the tree is removed.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "base/status.h"

namespace keepsake {

class TestTempDir {
 public:
  explicit TestTempDir(std::string_view prefix) : path_("/tmp/" + std::string(prefix) + "_XXXXXX") {
    KS_CHECK(mkdtemp(path_.data()) != nullptr);
  }
  ~TestTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TestTempDir(const TestTempDir&) = delete;
  TestTempDir& operator=(const TestTempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace keepsake
