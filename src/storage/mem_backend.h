// MemBackend: a storage in memory with the full semantics of backend.h (partials, no
// replacing, directories, filter, capacity, read-only), for unit tests of whatever writes
// backups. MemStore holds the files and is shared: the engine opens a backend per job or
// request, so each MemBackend is a cheap view of one MemStore, which the test keeps to look
// at (or tamper with) what was stored. It passes the storage conformance suite.
//
// Thread-safe: a MemStore may be used from several MemBackends on several threads.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/backend.h"

namespace keepsake::storage {

struct MemStoreOptions {
  uint64_t capacity_bytes = 0;  // 0: 1 TiB; writes beyond it fail with kNoSpace
  bool read_only = false;       // every change is kPermissionDenied
  std::string url = "mem://";   // how messages name the store
};

class MemStore {
 public:
  explicit MemStore(MemStoreOptions options = {});

  // Writes `data` to file `path` directly, behind any backend's back (leftovers, tampering);
  // creates missing parent directories. REQUIRES: CheckPath(path).ok()
  void PutRaw(std::string_view path, std::string_view data);
  // The content of file `path`, nullopt when there is none.
  std::optional<std::string> Get(std::string_view path) const;
  // Every path (files and directories), sorted.
  std::vector<std::string> Paths() const;
  void set_read_only(bool read_only);

 private:
  friend class MemBackend;
  friend class MemWriter;
  struct Node {
    bool is_dir = false;
    std::shared_ptr<std::string> data;  // files: the content (immutable once committed)
    int64_t mtime = 0;
  };

  std::string Url(std::string_view path) const;
  Status Missing(std::string_view path) const;   // kNotFound, ENOENT
  Status ReadOnly(std::string_view path) const;  // kPermissionDenied, EROFS
  // The node at canonical `path` (a directory if `want_dir`), or the error a file system
  // would give. REQUIRES: mu_ held
  Result<Node*> FindLocked(const std::string& path, bool want_dir = false);
  uint64_t UsedLocked() const;
  uint64_t TotalBytes() const;

  mutable std::mutex mu_;
  MemStoreOptions options_;
  std::map<std::string, Node, std::less<>> nodes_;  // by canonical path; "" is the root
};

class MemBackend final : public Backend {
 public:
  explicit MemBackend(std::shared_ptr<MemStore> store) : store_(std::move(store)) {}

  Result<std::vector<Entry>> List(std::string_view dir, std::string_view filter = {}) override;
  Result<Entry> Stat(std::string_view path) override;
  Result<Capacity> GetCapacity() override;
  Result<Access> GetAccess(std::string_view dir) override;
  Status MakeDir(std::string_view path) override;
  Result<std::unique_ptr<Writer>> NewWriter(std::string_view path) override;
  Result<std::unique_ptr<Reader>> NewReader(std::string_view path, uint64_t offset = 0) override;
  Status Rename(std::string_view from, std::string_view to) override;
  Status Remove(std::string_view path) override;

 private:
  std::shared_ptr<MemStore> store_;
};

}  // namespace keepsake::storage
