#include "storage/nfs_backend.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <nfsc/libnfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/nfs_io.h"
#include "storage/nfs_session.h"
#include "storage/nfs_url.h"

namespace keepsake::storage {
namespace {

using namespace nfs;  // the backend's own internals (nfs_session.h, nfs_io.h)

Entry ToEntry(std::string_view name, const nfs_stat_64& st) {
  Entry e;
  e.name = std::string(name);
  e.is_dir = S_ISDIR(st.nfs_mode);
  e.size = e.is_dir ? 0 : st.nfs_size;
  e.mtime = static_cast<int64_t>(st.nfs_mtime);
  return e;
}

class NfsBackend final : public Backend {
 public:
  NfsBackend(std::unique_ptr<Session> session, std::string location)
      : s_(std::move(session)), location_(std::move(location)) {}

  Result<std::vector<Entry>> List(std::string_view dir, std::string_view filter) override {
    RETURN_IF_ERROR(CheckPath(dir));
    dir = Canonical(dir);
    ASSIGN_OR_RETURN(Resolved d, ResolveDir(dir));
    nfsdir* handle = nullptr;
    if (int rc = nfs_opendir(s_->nfs, Remote(d.path).c_str(), &handle); rc != 0) {
      return NfsError(*s_, rc, Url(dir));
    }
    std::vector<Entry> entries;
    for (nfsdirent* e; (e = nfs_readdir(s_->nfs, handle)) != nullptr;) {
      // The listing comes from the server: bounded, so a huge or endless one cannot take
      // the daemon's memory.
      if (entries.size() >= kMaxListEntries) {
        nfs_closedir(s_->nfs, handle);
        return Status::IoError(
            fmt::format("{}: more than {} entries; choose a directory with fewer", Url(dir), kMaxListEntries));
      }
      std::string_view name = e->name != nullptr ? e->name : "";
      // Names come from the server: one holding '/' would address another path.
      if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) continue;
      if (!MatchesFilter(name, filter)) continue;
      Entry entry;
      entry.name = std::string(name);
      entry.is_dir = S_ISDIR(e->mode);
      entry.size = entry.is_dir ? 0 : e->size;
      entry.mtime = static_cast<int64_t>(e->mtime.tv_sec);
      entries.push_back(std::move(entry));
    }
    nfs_closedir(s_->nfs, handle);
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
    return entries;
  }

  Result<Entry> Stat(std::string_view path) override {
    RETURN_IF_ERROR(CheckPath(path));
    path = Canonical(path);
    ASSIGN_OR_RETURN(Resolved r, Resolve(path));
    if (!r.exists) return NotFound(path);
    return ToEntry(path.substr(path.rfind('/') + 1), r.st);
  }

  Result<Capacity> GetCapacity() override {
    nfs_statvfs_64 vfs;
    if (int rc = nfs_statvfs64(s_->nfs, "/", &vfs); rc != 0) return NfsError(*s_, rc, location_);
    // The server's numbers: keep them consistent and free of overflow.
    uint64_t unit = vfs.f_frsize != 0 ? vfs.f_frsize : vfs.f_bsize;
    uint64_t blocks = vfs.f_blocks;
    uint64_t bfree = std::min(vfs.f_bfree, blocks);
    uint64_t bavail = std::min(vfs.f_bavail, bfree);
    auto bytes = [unit](uint64_t n) { return unit != 0 && n > UINT64_MAX / unit ? UINT64_MAX : n * unit; };
    Capacity c;
    c.total = bytes(blocks);
    c.used = bytes(blocks - bfree);
    c.free = bytes(bavail);
    return c;
  }

  Result<Access> GetAccess(std::string_view dir) override {
    RETURN_IF_ERROR(CheckPath(dir));
    dir = Canonical(dir);
    ASSIGN_OR_RETURN(Resolved d, ResolveDir(dir));
    // ACCESS asks the server, which knows the export's read-only flag and its squashing;
    // mode bits cannot tell (NFSv4 owners arrive as names libnfs does not map).
    int mask = nfs_access2(s_->nfs, Remote(d.path).c_str());
    if (mask < 0) return NfsError(*s_, mask, Url(dir));
    Access access;
    access.can_read = (mask & R_OK) != 0;
    access.can_write = (mask & W_OK) != 0;
    return access;
  }

  Status MakeDir(std::string_view path) override {
    RETURN_IF_ERROR(CheckPath(path));
    path = Canonical(path);
    if (path.empty()) return ResolveDir(path).status();
    // One walk down: each component is looked up (and made) once, after its parent was
    // found to be a directory and no symlink, so symlinks on the way are refused as in
    // Resolve(), with one LOOKUP per component rather than one per component per prefix.
    for (size_t end = 0; end != std::string_view::npos;) {
      end = path.find('/', end + 1);
      std::string_view prefix = path.substr(0, end);
      ASSIGN_OR_RETURN(std::optional<nfs_stat_64> st, LookUp(prefix, prefix));
      if (!st) {
        int rc = nfs_mkdir2(s_->nfs, Remote(prefix).c_str(), kDirMode);
        // EEXIST: made meanwhile by someone else; what it is gets checked below.
        if (rc != 0 && rc != -EEXIST) return NfsError(*s_, rc, Url(prefix));
        ASSIGN_OR_RETURN(st, LookUp(prefix, prefix));
        if (!st) return NotFound(prefix);
      }
      if (!S_ISDIR(st->nfs_mode)) {
        return Status::AlreadyExists(fmt::format("{}: exists and is not a directory", Url(prefix)));
      }
    }
    return Status();
  }

  Result<std::unique_ptr<Writer>> NewWriter(std::string_view path) override {
    ASSIGN_OR_RETURN(auto split, SplitFile(path));
    auto [dir, leaf] = split;
    std::string url = Url(path);
    RETURN_IF_ERROR(CheckNewFileName(leaf, url));
    ASSIGN_OR_RETURN(Resolved d, ResolveDir(dir));
    std::string final_path = Remote(JoinPath(d.path, leaf));
    nfs_stat_64 st;
    int rc = nfs_lstat64(s_->nfs, final_path.c_str(), &st);
    if (rc == 0) return Status::AlreadyExists(fmt::format("{}: already exists; nothing was overwritten", url));
    if (rc != -ENOENT) return NfsError(*s_, rc, url);
    std::string partial = Remote(JoinPath(d.path, PartialName(leaf)));
    auto busy = [&] {
      return Status::AlreadyExists(
          fmt::format("{}: another writer is creating this file ({} exists)", url, PartialName(leaf)));
    };
    // Checks that spare a failing OPEN (see Session).
    rc = nfs_lstat64(s_->nfs, partial.c_str(), &st);
    if (rc == 0) return busy();
    if (rc != -ENOENT) return NfsError(*s_, rc, url);
    int mask = nfs_access2(s_->nfs, Remote(d.path).c_str());
    if (mask < 0) return NfsError(*s_, mask, Url(dir));
    if ((mask & W_OK) == 0) {
      return Status::PermissionDenied(fmt::format(
          "{}: the NFS server grants no write access here: the export is read-only, or its squash options map this "
          "appliance to a user without write permission",
          url));
    }
    nfsfh* fh = nullptr;
    // O_EXCL (an exclusive CREATE): never reuse a partial file, which another writer may be
    // filling right now.
    rc = nfs_create(s_->nfs, partial.c_str(), O_WRONLY | O_EXCL, kFileMode, &fh);
    if (rc != 0) {
      Status status = rc == -EEXIST ? busy() : NfsError(*s_, rc, url);
      s_->Renew();
      return status;
    }
    return NewNfsWriter(*s_, fh, std::move(partial), std::move(final_path), url);
  }

  Result<std::unique_ptr<Reader>> NewReader(std::string_view path, uint64_t offset) override {
    RETURN_IF_ERROR(CheckPath(path));
    path = Canonical(path);
    std::string url = Url(path);
    ASSIGN_OR_RETURN(Resolved r, Resolve(path));
    if (!r.exists) return NotFound(path);
    if (S_ISDIR(r.st.nfs_mode)) return Status::InvalidArgument(fmt::format("{}: is a directory, not a file", url));
    if (!S_ISREG(r.st.nfs_mode)) return Status::InvalidArgument(fmt::format("{}: is not a regular file", url));
    if (offset > r.st.nfs_size) {
      return Status::InvalidArgument(
          fmt::format("{}: offset {} is past the end of the file ({} bytes)", url, offset, r.st.nfs_size));
    }
    // Checked first, to spare a failing OPEN (see Session).
    int mask = nfs_access2(s_->nfs, Remote(r.path).c_str());
    if (mask < 0) return NfsError(*s_, mask, url);
    if ((mask & R_OK) == 0) return NfsError(*s_, -EACCES, url);
    nfsfh* fh = nullptr;
    if (int rc = nfs_open(s_->nfs, Remote(r.path).c_str(), O_RDONLY, &fh); rc != 0) {
      Status status = NfsError(*s_, rc, url);
      s_->Renew();
      return status;
    }
    return NewNfsReader(*s_, fh, offset, std::move(url));
  }

  Status Rename(std::string_view from, std::string_view to) override {
    ASSIGN_OR_RETURN(auto from_split, SplitFile(from));
    ASSIGN_OR_RETURN(auto to_split, SplitFile(to));
    RETURN_IF_ERROR(CheckNewFileName(to_split.second, Url(to)));
    ASSIGN_OR_RETURN(Resolved from_dir, ResolveDir(from_split.first));
    ASSIGN_OR_RETURN(Resolved to_dir, ResolveDir(to_split.first));
    std::string from_path = Remote(JoinPath(from_dir.path, from_split.second));
    std::string to_path = Remote(JoinPath(to_dir.path, to_split.second));
    nfs_stat_64 st;
    if (int rc = nfs_lstat64(s_->nfs, from_path.c_str(), &st); rc != 0) return NfsError(*s_, rc, Url(from));
    nfs_stat_64 to_st;
    int rc = nfs_lstat64(s_->nfs, to_path.c_str(), &to_st);
    if (rc == 0) return Status::AlreadyExists(fmt::format("{}: already exists; nothing was overwritten", Url(to)));
    if (rc != -ENOENT) return NfsError(*s_, rc, Url(to));
    if (!S_ISDIR(st.nfs_mode)) {
      ASSIGN_OR_RETURN(bool linked, LinkNoReplace(*s_, from_path, to_path, Url(to)));
      if (linked && (rc = nfs_unlink(s_->nfs, from_path.c_str())) != 0) return NfsError(*s_, rc, Url(from));
      return Status();
    }
    // Directories cannot be hard-linked: the check above and this RENAME are two calls, so
    // an empty directory another client creates at `to` in between would be replaced (RENAME
    // fails over anything else). No Keepsake process does that.
    if ((rc = nfs_rename(s_->nfs, from_path.c_str(), to_path.c_str())) != 0) {
      return NfsError(*s_, rc, fmt::format("{} -> {}", Url(from), Url(to)));
    }
    return Status();
  }

  Status Remove(std::string_view path) override {
    ASSIGN_OR_RETURN(auto split, SplitFile(path));
    ASSIGN_OR_RETURN(Resolved dir, ResolveDir(split.first));
    std::string remote = Remote(JoinPath(dir.path, split.second));
    nfs_stat_64 st;
    int rc = nfs_lstat64(s_->nfs, remote.c_str(), &st);
    if (rc == 0) {
      // A symlink is removed itself, never what it points to.
      rc = S_ISDIR(st.nfs_mode) ? nfs_rmdir(s_->nfs, remote.c_str()) : nfs_unlink(s_->nfs, remote.c_str());
    }
    if (rc != 0) return NfsError(*s_, rc, Url(path));
    return Status();
  }

 private:
  // A path relative to the root, and what is there.
  struct Resolved {
    std::string path;  // "" for the root
    bool exists = false;
    nfs_stat_64 st{};  // when `exists`
  };

  std::string Url(std::string_view rel) const { return rel.empty() ? location_ : fmt::format("{}/{}", location_, rel); }

  Status NotFound(std::string_view rel) const {
    return Status::NotFound(fmt::format("{}: no such file or directory", Url(rel)));
  }

  // Splits a non-root path into its directory ("" for the root) and last component.
  Result<std::pair<std::string_view, std::string_view>> SplitFile(std::string_view path) const {
    RETURN_IF_ERROR(CheckPath(path));
    path = Canonical(path);
    if (path.empty()) return Status::InvalidArgument(fmt::format("{}: is the storage root, not a file", Url(path)));
    size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return std::pair(std::string_view(), path);
    return std::pair(path.substr(0, slash), path.substr(slash + 1));
  }

  // Checks `path` (checked and canonical) component by component: every directory on the
  // way must exist (else kNotFound) and be a directory; the last component may be missing
  // (exists = false). A symlink anywhere is kInvalidArgument: see the refusal below. (Remove
  // and Rename look up the link itself in its directory, so a symlink can be removed.)
  Result<Resolved> Resolve(std::string_view path) const {
    Resolved r;
    size_t start = 0;
    while (!path.empty()) {
      size_t end = std::min(path.find('/', start), path.size());
      const bool last = end == path.size();
      r.path = std::string(path.substr(0, end));
      ASSIGN_OR_RETURN(std::optional<nfs_stat_64> st, LookUp(r.path, path));
      if (!st && last) return r;
      if (!st) return NfsError(*s_, -ENOENT, Url(path));
      r.st = *st;
      if (last) {
        r.exists = true;
        return r;
      }
      if (!S_ISDIR(r.st.nfs_mode)) {
        return Status::InvalidArgument(fmt::format("{}: {} is not a directory", Url(path), Url(r.path)));
      }
      start = end + 1;
    }
    // The root.
    if (int rc = nfs_lstat64(s_->nfs, Remote("").c_str(), &r.st); rc != 0) return NfsError(*s_, rc, Url(path));
    r.exists = true;
    return r;
  }

  // What is at `rel` (checked and canonical, not the root), not following a symlink there;
  // nullopt if nothing is. A symlink is kInvalidArgument; errors name `path`, the path
  // being resolved.
  Result<std::optional<nfs_stat_64>> LookUp(std::string_view rel, std::string_view path) const {
    nfs_stat_64 st;
    int rc = nfs_lstat64(s_->nfs, Remote(rel).c_str(), &st);
    if (rc == -ENOENT) return std::optional<nfs_stat_64>();
    if (rc != 0) return NfsError(*s_, rc, Url(path));
    if (S_ISLNK(st.nfs_mode)) {
      // Not followed: libnfs 4.0's READLINK copies the server's answer with strdup()
      // although it has no terminating NUL, reading past its buffer (found by ASan).
      return Status::InvalidArgument(
          fmt::format("{}: {} is a symlink; symlinks on NFS storage are not followed: use the directory it points to",
                      Url(path), Url(rel)));
    }
    return std::optional<nfs_stat_64>(st);
  }

  // Resolve() for a directory that must exist.
  Result<Resolved> ResolveDir(std::string_view dir) const {
    ASSIGN_OR_RETURN(Resolved r, Resolve(dir));
    if (!r.exists) return NotFound(dir);
    if (!S_ISDIR(r.st.nfs_mode)) return Status::InvalidArgument(fmt::format("{}: not a directory", Url(dir)));
    return r;
  }

  std::unique_ptr<Session> s_;
  std::string location_;  // "nfs://host[:port]/path": how messages name the root
};

}  // namespace

Result<std::unique_ptr<Backend>> OpenNfsBackend(std::string_view url_text) {
  return OpenNfsBackend(url_text, NfsOptions());
}

Result<std::unique_ptr<Backend>> OpenNfsBackend(std::string_view url_text, const NfsOptions& options) {
  auto session = std::make_unique<Session>();
  session->options = options;
  ASSIGN_OR_RETURN(session->url, ParseNfsUrl(url_text));
  const NfsUrl& url = session->url;
  if (url.version != "4") return Status::NotSupported(VersionMessage(url));
  session->server = fmt::format("{}:{}", url.host, url.EffectivePort());
  RETURN_IF_ERROR(session->Connect());
  nfs_stat_64 st;
  if (int rc = nfs_stat64(session->nfs, "/", &st); rc != 0) return NfsError(*session, rc, url.Location());
  if (!S_ISDIR(st.nfs_mode)) return Status::InvalidArgument(fmt::format("{}: not a directory", url.Location()));
  std::string location = url.Location();
  return std::unique_ptr<Backend>(new NfsBackend(std::move(session), std::move(location)));
}

}  // namespace keepsake::storage
