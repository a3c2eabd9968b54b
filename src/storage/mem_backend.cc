#include "storage/mem_backend.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace keepsake::storage {
namespace {

constexpr uint64_t kDefaultCapacity = uint64_t{1} << 40;

// "" for the root, the path itself otherwise (CheckPath() has accepted it).
std::string Canonical(std::string_view path) { return path == "." ? std::string() : std::string(path); }

std::string ParentOf(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

std::string LeafOf(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool IsBelow(std::string_view path, std::string_view dir) {
  return dir.empty() ? !path.empty() : path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

MemStore::MemStore(MemStoreOptions options) : options_(std::move(options)) { nodes_[""] = Node{true, nullptr, Now()}; }

std::string MemStore::Url(std::string_view path) const {
  return path.empty() ? options_.url : fmt::format("{}/{}", options_.url, path);
}

Status MemStore::Missing(std::string_view path) const {
  return Status::NotFound(Url(path) + ": No such file or directory").WithErrno(ENOENT);
}

Status MemStore::ReadOnly(std::string_view path) const {
  return Status::PermissionDenied(Url(path) + ": Read-only file system").WithErrno(EROFS);
}

Result<MemStore::Node*> MemStore::FindLocked(const std::string& path, bool want_dir) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return Missing(path);
  if (want_dir && !it->second.is_dir)
    return Status::InvalidArgument(Url(path) + ": Not a directory").WithErrno(ENOTDIR);
  return &it->second;
}

uint64_t MemStore::TotalBytes() const { return options_.capacity_bytes ? options_.capacity_bytes : kDefaultCapacity; }

uint64_t MemStore::UsedLocked() const {
  uint64_t used = 0;
  for (const auto& [path, node] : nodes_) {
    if (!node.is_dir) used += node.data->size();
  }
  return used;
}

void MemStore::PutRaw(std::string_view path, std::string_view data) {
  std::lock_guard lock(mu_);
  std::string p = Canonical(path);
  for (std::string dir = ParentOf(p); !dir.empty(); dir = ParentOf(dir)) {
    nodes_.try_emplace(dir, Node{true, nullptr, Now()});
  }
  nodes_[p] = Node{false, std::make_shared<std::string>(data), Now()};
}

std::optional<std::string> MemStore::Get(std::string_view path) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(Canonical(path));
  if (it == nodes_.end() || it->second.is_dir) return std::nullopt;
  return *it->second.data;
}

std::vector<std::string> MemStore::Paths() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [path, node] : nodes_) {
    if (!path.empty()) out.push_back(path);
  }
  return out;
}

void MemStore::set_read_only(bool read_only) {
  std::lock_guard lock(mu_);
  options_.read_only = read_only;
}

// A file being written: its partial node grows with each Append; Commit renames it.
class MemWriter final : public Writer {
 public:
  MemWriter(std::shared_ptr<MemStore> store, std::string path, std::string partial)
      : store_(std::move(store)), path_(std::move(path)), partial_(std::move(partial)) {}
  ~MemWriter() override {
    if (committed_) return;
    std::lock_guard lock(store_->mu_);
    store_->nodes_.erase(partial_);  // an abandoned write leaves nothing behind
  }

  Status Append(std::span<const std::byte> data) override {
    if (failed_) return Status::FailedPrecondition(store_->Url(path_) + ": the writer failed before");
    std::lock_guard lock(store_->mu_);
    auto it = store_->nodes_.find(partial_);
    if (it == store_->nodes_.end()) {
      failed_ = true;
      return Status::NotFound(store_->Url(partial_) + ": the partial file was removed").WithErrno(ENOENT);
    }
    if (store_->UsedLocked() + data.size() > store_->TotalBytes()) {
      failed_ = true;
      return Status::NoSpace(store_->Url(path_) + ": No space left on device").WithErrno(ENOSPC);
    }
    it->second.data->append(reinterpret_cast<const char*>(data.data()), data.size());
    return Status();
  }

  Status Commit() override {
    if (failed_) return Status::FailedPrecondition(store_->Url(path_) + ": the writer failed before");
    std::lock_guard lock(store_->mu_);
    auto it = store_->nodes_.find(partial_);
    if (it == store_->nodes_.end()) {
      return Status::NotFound(store_->Url(partial_) + ": the partial file was removed").WithErrno(ENOENT);
    }
    if (store_->nodes_.count(path_)) {
      return Status::AlreadyExists(store_->Url(path_) + ": File exists").WithErrno(EEXIST);
    }
    Node node = std::move(it->second);
    store_->nodes_.erase(it);
    node.mtime = Now();
    store_->nodes_[path_] = std::move(node);
    committed_ = true;
    return Status();
  }

 private:
  using Node = MemStore::Node;
  std::shared_ptr<MemStore> store_;
  std::string path_;
  std::string partial_;
  bool failed_ = false;
  bool committed_ = false;
};

namespace {

class MemReader final : public Reader {
 public:
  MemReader(std::shared_ptr<const std::string> data, uint64_t offset) : data_(std::move(data)), pos_(offset) {}
  Result<size_t> Read(std::span<std::byte> buf) override {
    size_t n = std::min<size_t>(buf.size(), data_->size() - pos_);
    std::memcpy(buf.data(), data_->data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::shared_ptr<const std::string> data_;
  size_t pos_;
};

}  // namespace

Result<std::vector<Entry>> MemBackend::List(std::string_view dir, std::string_view filter) {
  RETURN_IF_ERROR(CheckPath(dir));
  std::string d = Canonical(dir);
  std::lock_guard lock(store_->mu_);
  RETURN_IF_ERROR(store_->FindLocked(d, /*want_dir=*/true).status());
  std::vector<Entry> out;
  for (const auto& [path, node] : store_->nodes_) {
    if (!IsBelow(path, d) || ParentOf(path) != d) continue;
    std::string name = LeafOf(path);
    if (!MatchesFilter(name, filter)) continue;
    out.push_back({name, node.is_dir, node.is_dir ? 0 : node.data->size(), node.mtime});
  }
  return out;  // std::map order: sorted by name within one directory
}

Result<Entry> MemBackend::Stat(std::string_view path) {
  RETURN_IF_ERROR(CheckPath(path));
  std::string p = Canonical(path);
  std::lock_guard lock(store_->mu_);
  ASSIGN_OR_RETURN(MemStore::Node * node, store_->FindLocked(p));
  return Entry{LeafOf(p), node->is_dir, node->is_dir ? 0 : node->data->size(), node->mtime};
}

Result<Capacity> MemBackend::GetCapacity() {
  std::lock_guard lock(store_->mu_);
  uint64_t total = store_->TotalBytes(), used = store_->UsedLocked();
  return Capacity{total, used, used >= total ? 0 : total - used};
}

Result<Access> MemBackend::GetAccess(std::string_view dir) {
  RETURN_IF_ERROR(CheckPath(dir));
  std::string d = Canonical(dir);
  std::lock_guard lock(store_->mu_);
  RETURN_IF_ERROR(store_->FindLocked(d, /*want_dir=*/true).status());
  return Access{true, !store_->options_.read_only};
}

Status MemBackend::MakeDir(std::string_view path) {
  RETURN_IF_ERROR(CheckPath(path));
  std::string p = Canonical(path);
  std::lock_guard lock(store_->mu_);
  std::vector<std::string> missing;
  for (std::string d = p; !d.empty(); d = ParentOf(d)) {
    auto it = store_->nodes_.find(d);
    if (it == store_->nodes_.end()) {
      missing.push_back(d);
    } else if (!it->second.is_dir) {
      return Status::AlreadyExists(store_->Url(d) + ": exists and is not a directory").WithErrno(EEXIST);
    }
  }
  if (missing.empty()) return Status();
  if (store_->options_.read_only) return store_->ReadOnly(p);
  for (const std::string& d : missing) store_->nodes_[d] = MemStore::Node{true, nullptr, Now()};
  return Status();
}

Result<std::unique_ptr<Writer>> MemBackend::NewWriter(std::string_view path) {
  RETURN_IF_ERROR(CheckPath(path));
  std::string p = Canonical(path);
  if (p.empty()) return Status::InvalidArgument(store_->Url(p) + ": the root is not a file");
  RETURN_IF_ERROR(CheckNewFileName(LeafOf(p), store_->Url(p)));
  std::string partial = JoinPath(ParentOf(p), PartialName(LeafOf(p)));
  std::lock_guard lock(store_->mu_);
  auto parent = store_->nodes_.find(ParentOf(p));
  if (parent == store_->nodes_.end() || !parent->second.is_dir) {
    return store_->Missing(ParentOf(p));
  }
  if (store_->options_.read_only) return store_->ReadOnly(p);
  if (store_->nodes_.count(p)) return Status::AlreadyExists(store_->Url(p) + ": File exists").WithErrno(EEXIST);
  if (store_->nodes_.count(partial)) {
    return Status::AlreadyExists(fmt::format("{}: another writer is creating this file", store_->Url(p)))
        .WithErrno(EEXIST);
  }
  store_->nodes_[partial] = MemStore::Node{false, std::make_shared<std::string>(), Now()};
  return std::unique_ptr<Writer>(new MemWriter(store_, p, partial));
}

Result<std::unique_ptr<Reader>> MemBackend::NewReader(std::string_view path, uint64_t offset) {
  RETURN_IF_ERROR(CheckPath(path));
  std::string p = Canonical(path);
  std::lock_guard lock(store_->mu_);
  auto it = store_->nodes_.find(p);
  if (it == store_->nodes_.end()) return store_->Missing(p);
  if (it->second.is_dir) return Status::InvalidArgument(store_->Url(p) + ": Is a directory").WithErrno(EISDIR);
  if (offset > it->second.data->size()) {
    return Status::InvalidArgument(
        fmt::format("{}: offset {} is past the end ({} bytes)", store_->Url(p), offset, it->second.data->size()));
  }
  // A copy of the content as it is now: a partial may still grow, a reader sees a snapshot.
  return std::unique_ptr<Reader>(new MemReader(std::make_shared<const std::string>(*it->second.data), offset));
}

Status MemBackend::Rename(std::string_view from, std::string_view to) {
  RETURN_IF_ERROR(CheckPath(from));
  RETURN_IF_ERROR(CheckPath(to));
  std::string f = Canonical(from), t = Canonical(to);
  if (f.empty() || t.empty()) return Status::InvalidArgument(store_->Url("") + ": the root cannot be renamed");
  RETURN_IF_ERROR(CheckNewFileName(LeafOf(t), store_->Url(t)));
  std::lock_guard lock(store_->mu_);
  auto src = store_->nodes_.find(f);
  if (src == store_->nodes_.end()) return store_->Missing(f);
  auto parent = store_->nodes_.find(ParentOf(t));
  if (parent == store_->nodes_.end() || !parent->second.is_dir) {
    return store_->Missing(ParentOf(t));
  }
  if (store_->nodes_.count(t)) return Status::AlreadyExists(store_->Url(t) + ": File exists").WithErrno(EEXIST);
  if (store_->options_.read_only) return store_->ReadOnly(f);
  if (src->second.is_dir && IsBelow(t, f))
    return Status::InvalidArgument(store_->Url(t) + ": inside the directory moved");
  std::vector<std::pair<std::string, MemStore::Node>> moved;
  for (auto it = store_->nodes_.begin(); it != store_->nodes_.end();) {
    if (it->first == f || IsBelow(it->first, f)) {
      moved.emplace_back(t + it->first.substr(f.size()), std::move(it->second));
      it = store_->nodes_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [path, node] : moved) store_->nodes_[path] = std::move(node);
  return Status();
}

Status MemBackend::Remove(std::string_view path) {
  RETURN_IF_ERROR(CheckPath(path));
  std::string p = Canonical(path);
  if (p.empty()) return Status::InvalidArgument(store_->Url(p) + ": the root cannot be removed");
  std::lock_guard lock(store_->mu_);
  auto it = store_->nodes_.find(p);
  if (it == store_->nodes_.end()) return store_->Missing(p);
  if (it->second.is_dir) {
    auto child = store_->nodes_.lower_bound(p + "/");  // every descendant starts with "p/"
    if (child != store_->nodes_.end() && IsBelow(child->first, p)) {
      return Status::FailedPrecondition(store_->Url(p) + ": Directory not empty").WithErrno(ENOTEMPTY);
    }
  }
  if (store_->options_.read_only) return store_->ReadOnly(p);
  store_->nodes_.erase(it);
  return Status();
}

}  // namespace keepsake::storage
