// The storage conformance suite: every TEST_P case that any Backend must pass, in the manner
// of restic's backend test suite. Each backend's test only instantiates it:
//
//   INSTANTIATE_TEST_SUITE_P(Local, BackendConformanceTest,
//                            ::testing::Values(LocalFixture()), BackendFixtureName);
//
// The fixture opens a fresh, empty store per test through BackendFixture::open. Capabilities
// a backend lacks (symlinks, a read-only or a small store) are given by flags; their cases
// skip, saying why. A store that cannot be set up right now (no server, no privilege)
// returns kNotSupported from open() and the case skips with that message.
//
// This file is compiled into the unit test binary, not into a library: the linker would
// drop the cases of a static library (STYLE.md §3). Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "storage/backend.h"

namespace keepsake::storage::conformance {

// How open() prepares the store before handing it over.
struct StoreOptions {
  // Files (path, content) present from the start, written behind the backend's back.
  std::vector<std::pair<std::string, std::string>> files;
  // The store refuses every write (a read-only mount or export). Needs can_make_read_only.
  bool read_only = false;
  // Bytes the store can hold at most; 0 means as much as the real storage. Needs can_fill_up.
  uint64_t capacity_bytes = 0;
};

// One store under test: the backend plus the means to act on the storage behind its back,
// as a crash or another client would. Owns whatever the store needs (a temp dir, a mount)
// and cleans it up when destroyed.
class BackendUnderTest {
 public:
  virtual ~BackendUnderTest() = default;
  virtual Backend& backend() = 0;
  // Writes `data` to the file `path` directly, bypassing the backend (leftover partials).
  virtual Status PutRaw(std::string_view path, std::string_view data) = 0;
  // Makes `path` a symlink pointing to `target`. Only called when supports_symlinks.
  virtual Status MakeSymlink(std::string_view path, std::string_view target) = 0;
};

// A store whose files lie in a directory of this machine (an NFS export's directory on the
// server side, a mounted drive): a fresh directory made under `parent`, filled with
// StoreOptions::files, written behind the backend's back, and removed with everything in it
// when the store is destroyed. `open_backend` opens the backend on it, given the new
// directory's name.
class DirectoryStore final : public BackendUnderTest {
 public:
  using BackendOpener = std::function<Result<std::unique_ptr<Backend>>(const std::string& name)>;
  static Result<std::unique_ptr<BackendUnderTest>> Create(const std::string& parent, const StoreOptions& options,
                                                          const BackendOpener& open_backend);
  ~DirectoryStore() override;

  Backend& backend() override { return *backend_; }
  Status PutRaw(std::string_view path, std::string_view data) override;
  Status MakeSymlink(std::string_view path, std::string_view target) override;

 private:
  DirectoryStore() = default;

  std::string dir_;
  std::unique_ptr<Backend> backend_;
};

struct BackendFixture {
  std::string name;  // the instantiation's name: "Local", "Nfs", ...
  // Opens a fresh, empty store (plus StoreOptions::files). kNotSupported skips the case.
  std::function<Result<std::unique_ptr<BackendUnderTest>>(const StoreOptions&)> open;
  bool supports_symlinks = false;   // MakeSymlink() works; escapes through symlinks are tested
  bool follows_symlinks = true;     // relative symlinks inside the root are followed; else all are refused
  bool can_make_read_only = false;  // StoreOptions::read_only is honoured
  bool can_fill_up = false;         // StoreOptions::capacity_bytes is honoured
};

inline void PrintTo(const BackendFixture& fixture, std::ostream* os) { *os << fixture.name; }

// Name generator for INSTANTIATE_TEST_SUITE_P.
inline std::string BackendFixtureName(const ::testing::TestParamInfo<BackendFixture>& info) { return info.param.name; }

class BackendConformanceTest : public ::testing::TestWithParam<BackendFixture> {
 protected:
  void SetUp() override;
  void TearDown() override { store_.reset(); }

  // Replaces the store with a fresh one set up with `options`; false (after GTEST_SKIP or a
  // failure was recorded) if that is not possible. Callers return at once on false.
  bool Reopen(const StoreOptions& options);

  Backend& backend() { return store_->backend(); }
  BackendUnderTest& store() { return *store_; }

  // Domain helpers. Each records a test failure if the backend fails unexpectedly.
  Status Put(std::string_view path, std::string_view data, size_t chunk = 4096);
  Result<std::string> ReadAll(std::string_view path, uint64_t offset = 0, size_t buf_size = 4096);
  Result<std::vector<std::string>> ListNames(std::string_view dir, std::string_view filter = {});

 private:
  std::unique_ptr<BackendUnderTest> store_;
};

}  // namespace keepsake::storage::conformance
