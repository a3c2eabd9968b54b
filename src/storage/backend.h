// Backend: where sealed backup files are stored (a local directory, an NFS export, a USB
// drive), behind one small interface so that the service never knows which one it writes to.
//
// Paths are relative to the storage root and '/'-separated: "" or "." is the root itself,
// "2025/kp_a.ksb" a file below it. Absolute paths, ".." and "." components, empty
// components (so also a trailing '/') and NUL bytes are refused with kInvalidArgument by the
// one shared CheckPath(); backends also refuse symlinks that lead out of the root.
//
// Files are only ever created through a Writer, which writes "<dir>/.<name>.partial" and
// makes "<dir>/<name>" appear on Commit() without ever replacing an existing file, so a file
// under its final name is always complete. Nothing in this interface overwrites a file.
//
// Error codes callers may branch on, for every method: kInvalidArgument (bad path),
// kNotFound, kAlreadyExists, kPermissionDenied (read-only or refused by the storage),
// kNoSpace, kUnavailable (retry may help: server down, timeout, drive gone); anything else
// is kIoError. Messages name the object as the administrator sees it
// ("file:///srv/backups/a.ksb: Permission denied").
//
// Thread-safety: a Backend, and the Writers and Readers it hands out, are not thread-safe:
// use one Backend instance per job or request. Writers and Readers must not outlive their
// Backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/byte_stream.h"
#include "base/status.h"

namespace keepsake::storage {

struct Entry {
  std::string name;  // last path component; "" for the root
  bool is_dir = false;
  uint64_t size = 0;  // bytes; 0 for directories
  int64_t mtime = 0;  // last modification, unix seconds
};

struct Capacity {
  uint64_t total = 0;  // bytes of the file system holding the root
  uint64_t used = 0;   // bytes in use (by anyone)
  uint64_t free = 0;   // bytes this process may still write
};

struct Access {
  bool can_read = false;   // List() and NewReader() are expected to work
  bool can_write = false;  // NewWriter(), MakeDir(), Rename() and Remove() are expected to work
};

// Writes one new file. Created by Backend::NewWriter(); the data goes to
// "<dir>/.<name>.partial" until Commit(). Destroyed without a successful Commit(), it
// removes the partial file, so an abandoned or failed write leaves nothing behind.
class Writer {
 public:
  virtual ~Writer() = default;
  // Appends all of `data`. After a failure the writer is unusable (Commit() fails too).
  virtual Status Append(std::span<const std::byte> data) = 0;
  // Flushes, fsyncs, renames the partial to the final name and fsyncs the directory.
  // kAlreadyExists if a file of that name appeared since NewWriter(): it is not replaced.
  // Call at most once.
  virtual Status Commit() = 0;
};

class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to buf.size() bytes; returns 0 only at the end of the file.
  virtual Result<size_t> Read(std::span<std::byte> buf) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // The entries of directory `dir`, sorted by name, without "." and "..". `filter`, if not
  // empty, keeps only names containing it, compared case-insensitively (ASCII). Nothing
  // else is hidden: partial files of running or crashed writers are listed as they are
  // (the daemon hides them). Symlinks are listed as themselves, not followed.
  // kNotFound if `dir` does not exist; kInvalidArgument if it is not a directory.
  virtual Result<std::vector<Entry>> List(std::string_view dir, std::string_view filter = {}) = 0;

  // The file or directory at `path` (symlinks inside the root are followed). kNotFound.
  virtual Result<Entry> Stat(std::string_view path) = 0;

  // Size of the file system holding the root.
  virtual Result<Capacity> GetCapacity() = 0;

  // Whether this process may read and write in directory `dir`. kNotFound if missing.
  virtual Result<Access> GetAccess(std::string_view dir) = 0;

  // Creates directory `path` and any missing parents (like `mkdir -p`). OK if it already
  // exists as a directory; kAlreadyExists if it (or a parent) exists as something else.
  virtual Status MakeDir(std::string_view path) = 0;

  // Starts writing the new file `path`; its directory must exist (kNotFound otherwise).
  // kAlreadyExists if `path` exists or another writer is creating it. kInvalidArgument for
  // names of the form ".<name>.partial", which are reserved for files being written.
  virtual Result<std::unique_ptr<Writer>> NewWriter(std::string_view path) = 0;

  // Opens the file `path` for reading from byte `offset`. kNotFound; kInvalidArgument if
  // `path` is a directory or `offset` lies past the end of the file (offset == size is
  // allowed and reads as empty).
  virtual Result<std::unique_ptr<Reader>> NewReader(std::string_view path, uint64_t offset = 0) = 0;

  // Moves a file or directory; the parent of `to` must exist. Never replaces: kAlreadyExists
  // if `to` exists. kNotFound if `from` does not exist.
  virtual Status Rename(std::string_view from, std::string_view to) = 0;

  // Removes a file or an empty directory. kNotFound if missing; kFailedPrecondition if the
  // directory is not empty; kInvalidArgument for the root.
  virtual Status Remove(std::string_view path) = 0;
};

// OK if `path` is a valid storage path (see the top of this file), else kInvalidArgument
// naming the path and what is wrong with it.
Status CheckPath(std::string_view path);

// "<dir>/<name>", or `name` when `dir` is the root ("" or ".").
std::string JoinPath(std::string_view dir, std::string_view name);

// The name a backend writes `leaf` under until it is complete: ".<leaf>.partial".
std::string PartialName(std::string_view leaf);
// True for names of the form ".<name>.partial": files being written, or left by a crash.
bool IsPartialName(std::string_view name);

// For backends: kInvalidArgument naming `url` when NewWriter() or Rename() is asked for a
// reserved ".<name>.partial" file name `leaf`.
Status CheckNewFileName(std::string_view leaf, std::string_view url);

// For backends: whether `name` passes List()'s `filter` ("" keeps every name; otherwise the
// name must contain it, compared case-insensitively in ASCII).
bool MatchesFilter(std::string_view name, std::string_view filter);

// Checks a storage URL and returns it in canonical form: lower-case scheme, no trailing
// '/', and the scheme's own rules (nfs: lower-case host, default port and version left
// out). No percent-decoding is done: the path is taken literally. kInvalidArgument naming the URL if it is malformed or
// its scheme unknown.
Result<std::string> NormalizeStorageUrl(std::string_view url);

// The URL of directory `path` below the root of storage `url` (the storage browser's "Use
// This Location"): "nfs://h/exp?version=4" + "a/b" -> "nfs://h/exp/a/b?version=4". `path`
// must pass CheckPath; "" or "." gives `url` itself. The result is not normalized.
Result<std::string> JoinStorageUrl(std::string_view url, std::string_view path);

// Opens the storage at `url`:
//   file:///abs/dir  a local directory, which must exist (kNotFound
//                    "file:///abs/dir: directory does not exist");
//   nfs://server[:port]/export/path?version=4   an NFS export (nfs_backend.h; NFS 4.1 and
//                    4.2 are kNotSupported on this system, saying why);
//   usb://<label-or-uuid>/path   a volume of an attached USB drive (usb_backend.h);
// anything else is kInvalidArgument naming the URL. The caller owns the backend.
Result<std::unique_ptr<Backend>> OpenBackend(std::string_view url);

// Removes the partial files (".<name>.partial") left in directory `dir` by writers that
// never committed, typically because the daemon crashed; subdirectories are not visited.
// OK if there were none. Call only while no Writer is active on `dir` (at start-up): a
// running writer's partial would be removed too, and its Commit() would then fail.
Status RemovePartials(Backend& backend, std::string_view dir);

// Lets the archive pipeline write into a backend: Write() appends to `writer`, which it
// borrows and which must outlive it. Finish() does NOT commit: the caller commits the
// Writer once the whole pipeline has succeeded, so a failed backup never appears under its
// final name. Not thread-safe.
class WriterSink final : public ByteSink {
 public:
  explicit WriterSink(Writer& writer) : writer_(writer) {}
  Status Write(std::span<const std::byte> data) override { return writer_.Append(data); }
  Status Finish() override { return Status(); }

 private:
  Writer& writer_;
};

// Lets the restore pipeline read from a backend; owns its Reader. Not thread-safe.
class ReaderSource final : public ByteSource {
 public:
  explicit ReaderSource(std::unique_ptr<Reader> reader) : reader_(std::move(reader)) {}
  Result<size_t> Read(std::span<std::byte> buf) override { return reader_->Read(buf); }

 private:
  std::unique_ptr<Reader> reader_;
};

}  // namespace keepsake::storage
