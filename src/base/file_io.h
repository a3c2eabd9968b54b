// Local files as ByteSources and ByteSinks, and the commit-or-discard file that every
// Keepsake output goes through (backups, keystores, decrypted archives).
//
// AtomicFile writes "<dir>/.<name>.partial" and only Commit() makes "<dir>/<name>" appear:
// flush, fsync, rename without replacing, fsync the directory. A file under its final name
// is therefore always complete. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/byte_stream.h"

namespace keepsake {

class FileSource final : public ByteSource {
 public:
  // Opens `path` for reading. kNotFound, kPermissionDenied, kIoError.
  static Result<std::unique_ptr<FileSource>> Open(const std::string& path);
  ~FileSource() override;
  Result<size_t> Read(std::span<std::byte> buf) override;
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  FileSource(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

class AtomicFile final : public ByteSink {
 public:
  // Creates the partial file next to `path` with `mode`. kAlreadyExists if `path` exists
  // (nothing is ever overwritten) or a partial of it is being written right now.
  static Result<std::unique_ptr<AtomicFile>> Create(const std::string& path, mode_t mode = 0600);
  // Removes the partial unless Commit() succeeded.
  ~AtomicFile() override;

  Status Write(std::span<const std::byte> data) override;
  Status Finish() override { return Status(); }  // data reaches the disk in Commit()
  // fsync, rename to the final name (kAlreadyExists if it appeared meanwhile), fsync dir.
  Status Commit();
  const std::string& path() const { return path_; }

 private:
  AtomicFile(int fd, std::string path, std::string partial)
      : fd_(fd), path_(std::move(path)), partial_(std::move(partial)) {}
  int fd_;
  std::string path_;
  std::string partial_;
  bool committed_ = false;
};

// "<dir>/.<name>.partial" for "<dir>/<name>": the one place partial names are made.
std::string PartialPathFor(std::string_view path);

// Writes `data` to `path` through an AtomicFile with `mode`.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0600);

// Replaces `path` (or creates it) atomically: a reader sees the old or the new content,
// never a mix, even across a crash. For state that is rewritten (journals, settings).
Status ReplaceFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0600);

// Reads a whole small file, refusing files larger than `max_size` (kInvalidArgument).
Result<std::string> ReadSmallFile(const std::string& path, size_t max_size);

// fsync the directory so that a rename or create in it survives power loss.
Status FsyncDir(const std::string& dir);

// Flushes the whole file system holding `dir` (syncfs): one call instead of an fsync per
// file, for many files written by someone else (libarchive) that must all be durable.
Status SyncFileSystem(const std::string& dir);

}  // namespace keepsake
