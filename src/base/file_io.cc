#include "base/file_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace keepsake {
namespace {

std::string DirOf(std::string_view path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// rename(2) replaces silently; renameat2(RENAME_NOREPLACE) refuses. File systems without it
// (some FUSE ones) answer EINVAL, where link + unlink gives the same no-replace guarantee.
Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return Status();
  if (errno != EINVAL && errno != ENOSYS) return StatusFromErrno(errno, to);
  if (link(from.c_str(), to.c_str()) != 0) return StatusFromErrno(errno, to);
  unlink(from.c_str());
  return Status();
}

}  // namespace

Result<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return StatusFromErrno(errno, path);
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return Status::InvalidArgument(fmt::format("{}: is a directory, not a file", path));
  }
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<FileSource>(new FileSource(fd, path));
}

FileSource::~FileSource() { close(fd_); }

Result<size_t> FileSource::Read(std::span<std::byte> buf) {
  for (;;) {
    ssize_t n = read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return StatusFromErrno(errno, path_);
  }
}

std::string PartialPathFor(std::string_view path) {
  std::filesystem::path p(path);
  return (p.parent_path() / ("." + p.filename().string() + ".partial")).string();
}

Result<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& path, mode_t mode) {
  if (access(path.c_str(), F_OK) == 0) {
    return Status::AlreadyExists(fmt::format("{}: already exists; nothing was overwritten", path));
  }
  std::string partial = PartialPathFor(path);
  int fd = open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status::AlreadyExists(fmt::format("{}: another writer is creating this file ({} exists)", path, partial));
    }
    return StatusFromErrno(errno, path);
  }
  // The umask must not widen nor narrow what the caller asked for (0600 for secrets).
  fchmod(fd, mode);
  return std::unique_ptr<AtomicFile>(new AtomicFile(fd, path, std::move(partial)));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) close(fd_);
  if (!committed_) unlink(partial_.c_str());
}

Status AtomicFile::Write(std::span<const std::byte> data) {
  const std::byte* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return StatusFromErrno(errno, path_);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Status();
}

Status AtomicFile::Commit() {
  KS_CHECK(!committed_);
  if (fsync(fd_) != 0) return StatusFromErrno(errno, path_);
  int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) return StatusFromErrno(errno, path_);
  RETURN_IF_ERROR(RenameNoReplace(partial_, path_));
  committed_ = true;
  return FsyncDir(DirOf(path_));
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  ASSIGN_OR_RETURN(auto file, AtomicFile::Create(path, mode));
  RETURN_IF_ERROR(file->Write(AsBytes(data)));
  return file->Commit();
}

Status ReplaceFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp";
  // Leftovers of a crash before the rename.
  unlink(tmp.c_str());
  unlink(PartialPathFor(tmp).c_str());
  ASSIGN_OR_RETURN(auto file, AtomicFile::Create(tmp, mode));
  RETURN_IF_ERROR(file->Write(AsBytes(data)));
  RETURN_IF_ERROR(file->Commit());
  if (rename(tmp.c_str(), path.c_str()) != 0) return StatusFromErrno(errno, path);
  return FsyncDir(DirOf(path));
}

Result<std::string> ReadSmallFile(const std::string& path, size_t max_size) {
  ASSIGN_OR_RETURN(auto source, FileSource::Open(path));
  std::string out;
  char buf[4096];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, source->Read(std::as_writable_bytes(std::span(buf))));
    if (n == 0) break;
    if (out.size() + n > max_size) {
      return Status::InvalidArgument(fmt::format("{}: larger than the {} bytes allowed", path, max_size));
    }
    out.append(buf, n);
  }
  return out;
}

namespace {

Status SyncDirFd(const std::string& dir, int (*sync_call)(int)) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return StatusFromErrno(errno, dir);
  int rc = sync_call(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return StatusFromErrno(err, dir);
  return Status();
}

}  // namespace

Status FsyncDir(const std::string& dir) { return SyncDirFd(dir, fsync); }

Status SyncFileSystem(const std::string& dir) { return SyncDirFd(dir, syncfs); }

}  // namespace keepsake
