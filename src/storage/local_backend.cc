#include "storage/local_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

namespace keepsake::storage {
namespace {

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// "" for the root, the path itself otherwise (CheckPath() has accepted it).
std::string_view Canonical(std::string_view path) { return path == "." ? std::string_view() : path; }

// Splits a non-root path into its directory ("" for the root) and last component.
std::pair<std::string_view, std::string_view> SplitParent(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

Status WriteAll(int fd, std::span<const std::byte> data, const std::string& url) {
  const std::byte* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return StatusFromErrno(errno, url);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Status();
}

// Renames without ever replacing `to`; 0 or an errno. RENAME_NOREPLACE where the file
// system has it; else (EINVAL, ENOSYS) link + unlink for files, which refuses to replace
// just the same; else (no hard links either: exFAT through FUSE answers EPERM) a check
// that `to` is absent right before a plain rename. That last way leaves a window of
// microseconds in which a name created by another process could be replaced; only the
// daemon writes to its storage and never creates one name twice at once, so it stays shut
// in practice.
int RenameNoReplace(int from_dir, const char* from, int to_dir, const char* to, bool is_dir) {
  if (renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  if (!is_dir) {
    if (linkat(from_dir, from, to_dir, to, 0) == 0) return unlinkat(from_dir, from, 0) == 0 ? 0 : errno;
    if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS) return errno;
  }
  struct stat st;
  if (fstatat(to_dir, to, &st, AT_SYMLINK_NOFOLLOW) == 0) return EEXIST;
  if (errno != ENOENT) return errno;
  return renameat(from_dir, from, to_dir, to) == 0 ? 0 : errno;
}

// fsync a directory, or a rename or create in it may not survive power loss.
Status SyncDir(int dir_fd, const std::string& url) {
  if (fsync(dir_fd) != 0) return StatusFromErrno(errno, url);
  return Status();
}

class LocalWriter final : public Writer {
 public:
  LocalWriter(Fd dir, Fd file, std::string leaf, std::string url, std::string dir_url)
      : dir_(std::move(dir)),
        file_(std::move(file)),
        leaf_(std::move(leaf)),
        partial_(PartialName(leaf_)),
        url_(std::move(url)),
        dir_url_(std::move(dir_url)) {}

  ~LocalWriter() override {
    file_.Reset();
    if (!committed_) unlinkat(dir_.get(), partial_.c_str(), 0);
  }

  Status Append(std::span<const std::byte> data) override {
    if (failed_ || committed_) return Status::FailedPrecondition(fmt::format("{}: the writer is closed", url_));
    Status s = WriteAll(file_.get(), data, url_);
    if (!s.ok()) failed_ = true;
    return s;
  }

  Status Commit() override {
    if (failed_ || committed_) {
      return Status::FailedPrecondition(fmt::format("{}: the writer is closed or an earlier write failed", url_));
    }
    failed_ = true;  // until proven otherwise: no second attempt after a half-done commit
    if (fsync(file_.get()) != 0) return StatusFromErrno(errno, url_);
    // close() reports delayed write errors on some file systems; the data must be safe
    // before the file gets its final name.
    if (close(file_.release()) != 0) return StatusFromErrno(errno, url_);
    if (int err = RenameNoReplace(dir_.get(), partial_.c_str(), dir_.get(), leaf_.c_str(), false); err != 0) {
      return RenameError(err);
    }
    committed_ = true;
    failed_ = false;
    return SyncDir(dir_.get(), dir_url_);
  }

 private:
  Status RenameError(int err) {
    if (err == EEXIST) {
      return Status::AlreadyExists(fmt::format("{}: already exists; nothing was overwritten", url_)).WithErrno(err);
    }
    return StatusFromErrno(err, url_);
  }

  Fd dir_;
  Fd file_;
  std::string leaf_;
  std::string partial_;
  std::string url_;
  std::string dir_url_;
  bool committed_ = false;
  bool failed_ = false;
};

class LocalReader final : public Reader {
 public:
  LocalReader(Fd file, std::string url) : file_(std::move(file)), url_(std::move(url)) {}

  Result<size_t> Read(std::span<std::byte> buf) override {
    for (;;) {
      ssize_t n = read(file_.get(), buf.data(), buf.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return StatusFromErrno(errno, url_);
    }
  }

 private:
  Fd file_;
  std::string url_;
};

class LocalBackend final : public Backend {
 public:
  LocalBackend(Fd root, std::string root_url) : root_(std::move(root)), root_url_(std::move(root_url)) {}

  Result<std::vector<Entry>> List(std::string_view dir, std::string_view filter) override {
    RETURN_IF_ERROR(CheckPath(dir));
    dir = Canonical(dir);
    ASSIGN_OR_RETURN(Fd fd, OpenBeneath(dir, O_RDONLY | O_DIRECTORY));
    DIR* stream = fdopendir(fd.get());
    if (stream == nullptr) return StatusFromErrno(errno, Url(dir));
    fd.release();  // the stream owns it now
    std::vector<Entry> entries;
    Status status;
    for (;;) {
      errno = 0;
      const dirent* d = readdir(stream);
      if (d == nullptr) {
        if (errno != 0) status = StatusFromErrno(errno, Url(dir));
        break;
      }
      std::string_view name = d->d_name;
      if (name == "." || name == "..") continue;
      if (!MatchesFilter(name, filter)) continue;
      struct stat st;
      if (fstatat(dirfd(stream), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed since readdir(): it no longer exists
        status = StatusFromErrno(errno, Url(JoinPath(dir, name)));
        break;
      }
      entries.push_back(ToEntry(name, st));
    }
    closedir(stream);
    if (!status.ok()) return status;
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
    return entries;
  }

  Result<Entry> Stat(std::string_view path) override {
    RETURN_IF_ERROR(CheckPath(path));
    path = Canonical(path);
    ASSIGN_OR_RETURN(Fd fd, OpenBeneath(path, O_PATH));
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return StatusFromErrno(errno, Url(path));
    return ToEntry(path.empty() ? std::string_view() : SplitParent(path).second, st);
  }

  Result<Capacity> GetCapacity() override {
    struct statvfs vfs;
    if (fstatvfs(root_.get(), &vfs) != 0) return StatusFromErrno(errno, root_url_);
    Capacity c;
    c.total = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
    c.used = static_cast<uint64_t>(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
    c.free = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    return c;
  }

  Result<Access> GetAccess(std::string_view dir) override {
    RETURN_IF_ERROR(CheckPath(dir));
    dir = Canonical(dir);
    ASSIGN_OR_RETURN(Fd fd, OpenBeneath(dir, O_PATH | O_DIRECTORY));
    Access access;
    ASSIGN_OR_RETURN(access.can_read, Allowed(fd.get(), R_OK | X_OK, dir));
    ASSIGN_OR_RETURN(access.can_write, Allowed(fd.get(), W_OK | X_OK, dir));
    // root passes access(W_OK) on any mode bits, but not a read-only mount.
    struct statvfs vfs;
    if (fstatvfs(fd.get(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0) access.can_write = false;
    return access;
  }

  Status MakeDir(std::string_view path) override {
    RETURN_IF_ERROR(CheckPath(path));
    path = Canonical(path);
    ASSIGN_OR_RETURN(Fd parent, OpenBeneath({}, O_RDONLY | O_DIRECTORY));
    size_t start = 0;
    while (start < path.size()) {
      size_t end = std::min(path.find('/', start), path.size());
      std::string_view prefix = path.substr(0, end);
      std::string component(path.substr(start, end - start));
      auto opened = OpenBeneath(prefix, O_RDONLY | O_DIRECTORY);
      if (!opened.ok() && opened.status().code() == ErrorCode::kNotFound) {
        if (mkdirat(parent.get(), component.c_str(), kDirMode) != 0 && errno != EEXIST) {
          return StatusFromErrno(errno, Url(prefix));
        }
        RETURN_IF_ERROR(SyncDir(parent.get(), Url(SplitParent(prefix).first)));
        opened = OpenBeneath(prefix, O_RDONLY | O_DIRECTORY);
      }
      if (!opened.ok()) {
        if (IsNotADirectory(parent.get(), component)) {
          return Status::AlreadyExists(fmt::format("{}: exists and is not a directory", Url(prefix)));
        }
        return std::move(opened).status();
      }
      parent = std::move(opened).value();
      start = end + 1;
    }
    return Status();
  }

  Result<std::unique_ptr<Writer>> NewWriter(std::string_view path) override {
    ASSIGN_OR_RETURN(auto split, SplitFile(path));
    auto [dir, leaf] = split;
    std::string url = Url(path);
    RETURN_IF_ERROR(CheckNewFileName(leaf, url));
    ASSIGN_OR_RETURN(Fd dir_fd, OpenBeneath(dir, O_RDONLY | O_DIRECTORY));
    std::string leaf_str(leaf);
    struct stat st;
    if (fstatat(dir_fd.get(), leaf_str.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      return Status::AlreadyExists(fmt::format("{}: already exists; nothing was overwritten", url));
    }
    if (errno != ENOENT) return StatusFromErrno(errno, url);
    std::string partial = PartialName(leaf);
    // O_EXCL: never reuse a partial file, which another writer may be filling right now.
    int raw = openat(dir_fd.get(), partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kFileMode);
    if (raw < 0) {
      int err = errno;
      if (err == EEXIST) {
        return Status::AlreadyExists(fmt::format("{}: another writer is creating this file ({} exists)", url, partial))
            .WithErrno(err);
      }
      return StatusFromErrno(err, url);
    }
    Fd file(raw);
    // The umask must not change what we ask for.
    fchmod(file.get(), kFileMode);
    return std::unique_ptr<Writer>(
        new LocalWriter(std::move(dir_fd), std::move(file), std::move(leaf_str), std::move(url), Url(dir)));
  }

  Result<std::unique_ptr<Reader>> NewReader(std::string_view path, uint64_t offset) override {
    RETURN_IF_ERROR(CheckPath(path));
    path = Canonical(path);
    std::string url = Url(path);
    // O_NONBLOCK: opening a FIFO planted in the storage must not hang; it has no effect on
    // regular files, and anything else is refused below.
    ASSIGN_OR_RETURN(Fd fd, OpenBeneath(path, O_RDONLY | O_NONBLOCK));
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return StatusFromErrno(errno, url);
    if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(fmt::format("{}: is a directory, not a file", url));
    if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(fmt::format("{}: is not a regular file", url));
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (offset > size) {
      return Status::InvalidArgument(
          fmt::format("{}: offset {} is past the end of the file ({} bytes)", url, offset, size));
    }
    int flags = fcntl(fd.get(), F_GETFL);
    if (flags < 0 || fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return StatusFromErrno(errno, url);
    if (offset > 0 && lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) return StatusFromErrno(errno, url);
    posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    return std::unique_ptr<Reader>(new LocalReader(std::move(fd), std::move(url)));
  }

  Status Rename(std::string_view from, std::string_view to) override {
    ASSIGN_OR_RETURN(auto from_split, SplitFile(from));
    ASSIGN_OR_RETURN(auto to_split, SplitFile(to));
    RETURN_IF_ERROR(CheckNewFileName(to_split.second, Url(to)));
    ASSIGN_OR_RETURN(Fd from_dir, OpenBeneath(from_split.first, O_RDONLY | O_DIRECTORY));
    ASSIGN_OR_RETURN(Fd to_dir, OpenBeneath(to_split.first, O_RDONLY | O_DIRECTORY));
    std::string from_leaf(from_split.second);
    std::string to_leaf(to_split.second);
    struct stat st;
    if (fstatat(from_dir.get(), from_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return StatusFromErrno(errno, Url(from));
    }
    auto rename_error = [&](int err) {
      if (err == EEXIST || err == ENOTEMPTY) {
        return Status::AlreadyExists(fmt::format("{}: already exists; nothing was overwritten", Url(to)))
            .WithErrno(err);
      }
      return StatusFromErrno(err, fmt::format("{} -> {}", Url(from), Url(to)));
    };
    if (int err =
            RenameNoReplace(from_dir.get(), from_leaf.c_str(), to_dir.get(), to_leaf.c_str(), S_ISDIR(st.st_mode));
        err != 0) {
      return rename_error(err);
    }
    RETURN_IF_ERROR(SyncDir(to_dir.get(), Url(to_split.first)));
    return SyncDir(from_dir.get(), Url(from_split.first));
  }

  Status Remove(std::string_view path) override {
    ASSIGN_OR_RETURN(auto split, SplitFile(path));
    ASSIGN_OR_RETURN(Fd dir_fd, OpenBeneath(split.first, O_RDONLY | O_DIRECTORY));
    std::string leaf(split.second);
    if (unlinkat(dir_fd.get(), leaf.c_str(), 0) != 0) {
      if (errno != EISDIR) return StatusFromErrno(errno, Url(path));
      if (unlinkat(dir_fd.get(), leaf.c_str(), AT_REMOVEDIR) != 0) {
        int err = errno;
        if (err == ENOTEMPTY || err == EEXIST) {
          return Status::FailedPrecondition(fmt::format("{}: directory is not empty", Url(path))).WithErrno(err);
        }
        return StatusFromErrno(err, Url(path));
      }
    }
    return SyncDir(dir_fd.get(), Url(split.first));
  }

  // The backend of directory `rel` below this root, reached without leaving the root (no
  // "..", no symlink out): a storage URL's path below a mount point is content of the drive.
  Result<std::unique_ptr<Backend>> Below(std::string_view rel, std::string url) const {
    RETURN_IF_ERROR(CheckPath(rel));
    ASSIGN_OR_RETURN(Fd dir, OpenBeneath(rel, O_PATH | O_DIRECTORY));
    return std::unique_ptr<Backend>(new LocalBackend(std::move(dir), std::move(url)));
  }

 private:
  // What the administrator sees: "file:///srv/backups/2025/a.ksb".
  std::string Url(std::string_view rel) const {
    if (rel.empty()) return root_url_;
    if (root_url_.ends_with('/')) return fmt::format("{}{}", root_url_, rel);
    return fmt::format("{}/{}", root_url_, rel);
  }

  // Checks a path that must name something below the root and splits it.
  Result<std::pair<std::string_view, std::string_view>> SplitFile(std::string_view path) const {
    RETURN_IF_ERROR(CheckPath(path));
    path = Canonical(path);
    if (path.empty()) return Status::InvalidArgument(fmt::format("{}: is the storage root", root_url_));
    return SplitParent(path);
  }

  // Opens `rel` ("" = the root) with `flags`, resolving it inside the root only: the kernel
  // refuses "..", absolute symlinks and relative ones that climb out (EXDEV).
  Result<Fd> OpenBeneath(std::string_view rel, int flags) const {
    std::string name = rel.empty() ? std::string(".") : std::string(rel);
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    for (int attempt = 0;; ++attempt) {
      long fd = syscall(SYS_openat2, root_.get(), name.c_str(), &how, sizeof(how));
      if (fd >= 0) return Fd(static_cast<int>(fd));
      int err = errno;
      // EAGAIN: a concurrent rename or mount made the kernel unsure the walk stayed inside.
      if ((err == EINTR || err == EAGAIN) && attempt < 100) continue;
      switch (err) {
        case EXDEV:
          return Status::InvalidArgument(
                     fmt::format("{}: leads out of the storage root (through a symlink or \"..\")", Url(rel)))
              .WithErrno(err);
        case ELOOP:
          return Status::InvalidArgument(fmt::format("{}: symlink loop, or a symlink that is not followed", Url(rel)))
              .WithErrno(err);
        case ENOTDIR:
          return Status::InvalidArgument(fmt::format("{}: not a directory", Url(rel))).WithErrno(err);
        case ENOSYS:
          return Status::NotSupported(
                     fmt::format("{}: the kernel lacks openat2(2) (Linux 5.6 or later is needed)", Url(rel)))
              .WithErrno(err);
        default:
          return StatusFromErrno(err, Url(rel));
      }
    }
  }

  Result<bool> Allowed(int dir_fd, int mode, std::string_view dir) const {
    if (faccessat(dir_fd, ".", mode, AT_EACCESS) == 0) return true;
    if (errno == EACCES || errno == EPERM || errno == EROFS) return false;
    return StatusFromErrno(errno, Url(dir));
  }

  static bool IsNotADirectory(int parent_fd, const std::string& name) {
    struct stat st;
    return fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
           !S_ISLNK(st.st_mode);
  }

  static Entry ToEntry(std::string_view name, const struct stat& st) {
    Entry e;
    e.name = std::string(name);
    e.is_dir = S_ISDIR(st.st_mode);
    e.size = e.is_dir ? 0 : static_cast<uint64_t>(st.st_size);
    e.mtime = static_cast<int64_t>(st.st_mtim.tv_sec);
    return e;
  }

  Fd root_;
  std::string root_url_;
};

}  // namespace

Result<std::unique_ptr<Backend>> OpenLocalBackend(const std::string& root_dir, const std::string& display_url,
                                                  std::string_view below) {
  std::string root = root_dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::string url = display_url.empty() ? fmt::format("file://{}", root) : display_url;
  if (root.empty() || root.front() != '/') {
    return Status::InvalidArgument(fmt::format("{}: the storage directory must be an absolute path", url));
  }
  int raw = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (raw < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(fmt::format("{}: directory does not exist", url)).WithErrno(err);
    if (err == ENOTDIR) return Status::InvalidArgument(fmt::format("{}: not a directory", url)).WithErrno(err);
    return StatusFromErrno(err, url);
  }
  auto backend = std::make_unique<LocalBackend>(Fd(raw), url);
  if (below.empty()) return std::unique_ptr<Backend>(std::move(backend));
  return backend->Below(below, fmt::format("{}/{}", url, below));
}

}  // namespace keepsake::storage
