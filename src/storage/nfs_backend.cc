#include "storage/nfs_backend.h"

#include <fcntl.h>
#include <nfsc/libnfs.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "base/strings.h"
#include "storage/nfs_url.h"

namespace keepsake::storage {
namespace {

constexpr int kFileMode = 0600;
constexpr int kDirMode = 0700;
constexpr int kNfsV4 = 4;  // NFS_V4 in <nfsc/libnfs-raw-nfs4.h>
// libnfs 4.0 encodes an NFSv4 WRITE into a fixed buffer of about 4 KiB (it passes no size
// hint for the payload; later versions do), so bigger writes fail with "ZDR error: Failed to
// encode COMPOUND4args". 3 KiB leaves room for the RPC header, AUTH_SYS credentials with a
// long host name and a 128-byte file handle.
constexpr size_t kMaxWrite = 3072;
// Reads are decoded into buffers sized by the reply; servers cap them (1 MiB for Ganesha).
constexpr size_t kMaxRead = 256 << 10;
constexpr size_t kMaxListEntries = 100'000;

// The server's or libnfs's words, safe to put in a message: printable ASCII only, bounded.
std::string Printable(const char* text) {
  if (text == nullptr) return "no details";
  return keepsake::Printable(text, 200, /*ascii_only=*/true);
}


// "" for the root, the path itself otherwise (CheckPath() has accepted it).
std::string_view Canonical(std::string_view path) { return path == "." ? std::string_view() : path; }

// libnfs takes paths relative to the mounted directory, starting with '/'.
std::string Remote(std::string_view rel) { return fmt::format("/{}", rel); }

bool KernelHasNfs4() {
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line)) {
    if (line.ends_with("\tnfs4")) return true;
  }
  return false;
}

// The connection to the server; owned by the backend, borrowed by its writers and readers
// (which must not outlive it).
//
// libnfs 4.0 does not advance its NFSv4.0 open-owner sequence ID when an OPEN fails, so the
// server answers every later OPEN of that context from its replay cache (the same error
// again) and CLOSEs fail with NFS4ERR_BAD_SEQID. The backend therefore checks before it
// opens, and after a failed OPEN it continues on a fresh context (Renew()); the old one
// stays alive for the files still open on it.
struct Session {
  NfsUrl url;
  NfsOptions options;
  std::string server;           // "host:port", for messages
  nfs_context* nfs = nullptr;   // the context for new calls
  std::vector<nfs_context*> retired;

  Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() {
    if (nfs != nullptr) nfs_destroy_context(nfs);
    for (nfs_context* old : retired) nfs_destroy_context(old);
  }

  // Connects and mounts on a new context, which replaces `nfs` on success.
  Status Connect();
  // After a failed OPEN: continue on a fresh context if the server lets us.
  void Renew() {
    nfs_context* old = nfs;
    nfs = nullptr;
    if (Connect().ok()) {
      retired.push_back(old);
    } else {
      if (nfs != nullptr) nfs_destroy_context(nfs);
      nfs = old;
    }
  }
};

std::string ConnectionLost(const Session& s) {
  return fmt::format(
      "lost the connection to the NFS server {} (it stopped, restarted or became unreachable); check the server, "
      "then retry",
      s.server);
}

// Maps a libnfs result (-errno, or -1 for a failure inside libnfs) to a Status naming
// `object`. Transport failures are kUnavailable: libnfs never reconnects by itself here.
// `detail` is libnfs's error text for the failed call.
Status NfsErrorWithDetail(const Session& s, int rc, std::string_view object, const std::string& detail) {
  const int err = rc < -1 ? -rc : 0;
  switch (err) {
    case ENOENT:
      return Status::NotFound(fmt::format("{}: no such file or directory", object));
    case EACCES:
    case EPERM:
      return Status::PermissionDenied(fmt::format(
          "{}: permission denied by the NFS server; check the export's client list and squash options for this "
          "appliance",
          object));
    case EROFS:
      return Status::PermissionDenied(fmt::format(
          "{}: the NFS export is read-only; export it read-write to store backups there", object));
    case ENOSPC:
    case EDQUOT:
      return Status::NoSpace(fmt::format("{}: no space left on the NFS server (or the quota is exhausted)", object));
    case EEXIST:
      return Status::AlreadyExists(fmt::format("{}: already exists", object));
    case ENOTEMPTY:
      return Status::FailedPrecondition(fmt::format("{}: directory not empty", object));
    case ENOTDIR:
      return Status::InvalidArgument(fmt::format("{}: not a directory", object));
    case EISDIR:
      return Status::InvalidArgument(fmt::format("{}: is a directory", object));
    case ESTALE:
      return Status::Unavailable(fmt::format(
          "{}: stale NFS file handle: the directory was removed or re-created on the server {}; retry, and check "
          "the export if this persists",
          object, s.server));
    case EINTR:  // how libnfs's synchronous calls report their timeout
    case ETIMEDOUT:
      return Status::Unavailable(fmt::format(
          "{}: the NFS server {} did not answer within {} s; check that it is running and reachable", object,
          s.server, kNfsTimeoutSeconds));
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
    case EHOSTUNREACH:
    case ENETUNREACH:
      return Status::Unavailable(fmt::format("{}: {}", object, ConnectionLost(s)));
    case EIO:
      // libnfs reports a broken connection as EIO ("nfs_service failed"); the server's own
      // I/O errors carry their NFS4ERR_ name.
      if (detail.find("NFS4ERR") == std::string::npos) {
        return Status::Unavailable(fmt::format("{}: {}", object, ConnectionLost(s)));
      }
      return Status::IoError(fmt::format("{}: the NFS server reported an I/O error ({})", object, detail));
    default:
      return Status::IoError(
          fmt::format("{}: NFS error: {} ({})", object, err != 0 ? std::strerror(err) : "client failure", detail));
  }
}

// NfsErrorWithDetail() for a synchronous call on `ctx` (by default the session's context),
// whose error text libnfs still holds.
Status NfsError(const Session& s, int rc, std::string_view object, nfs_context* ctx = nullptr) {
  return NfsErrorWithDetail(s, rc, object, Printable(nfs_get_error(ctx != nullptr ? ctx : s.nfs)));
}

// Publishes `from` as `to` without replacing `to`: LINK fails with EEXIST if `to` exists,
// unlike RENAME. True if linked (the caller removes `from`), false if renamed instead.
Result<bool> LinkNoReplace(const Session& s, const std::string& from, const std::string& to,
                           std::string_view to_url) {
  int rc = nfs_link(s.nfs, from.c_str(), to.c_str());
  if (rc == 0) return true;
  if (rc == -EEXIST) return Status::AlreadyExists(fmt::format("{}: already exists; nothing was overwritten", to_url));
  if (rc == -ENOTSUP || rc == -EOPNOTSUPP || rc == -EPERM || rc == -EMLINK) {
    // The server's file system has no hard links (FAT, some NAS): check, then rename. Only
    // another client creating `to` in between could be replaced.
    nfs_stat_64 st;
    int stat_rc = nfs_lstat64(s.nfs, to.c_str(), &st);
    if (stat_rc == 0) {
      return Status::AlreadyExists(fmt::format("{}: already exists; nothing was overwritten", to_url));
    }
    if (stat_rc != -ENOENT) return NfsError(s, stat_rc, to_url);
    rc = nfs_rename(s.nfs, from.c_str(), to.c_str());
    if (rc == 0) return false;
  }
  return NfsError(s, rc, to_url);
}

struct WriteQueue;

// One WRITE of at most kMaxWrite bytes, owned by libnfs while in flight (its callback takes
// it back).
struct PendingWrite {
  std::shared_ptr<WriteQueue> queue;
  uint64_t offset = 0;
  // A copy: Append()'s caller may reuse its buffer as soon as Append() returns.
  std::vector<std::byte> data;
};

// The WRITEs of one writer that are in flight, and what became of them. Shared between the
// writer and the callbacks of its WRITEs, because a callback may run after the writer is
// gone: any later call on the same context runs its event loop, and destroying a context
// cancels what is still queued. Callbacks therefore never touch the writer.
struct WriteQueue {
  int in_flight = 0;
  uint64_t answered = 0;  // WRITEs completed or failed so far: progress, for the timeout
  // The first failure: a libnfs result (-errno, or -1) and libnfs's words for it, or a
  // message of ours when the server answered nonsense (rc 0).
  bool failed = false;
  int rc = 0;
  std::string detail;
  // The rest of WRITEs the server took only in part, to be sent again.
  std::vector<std::unique_ptr<PendingWrite>> short_writes;

  void Fail(int result, std::string text) {
    if (failed) return;
    failed = true;
    rc = result;
    detail = std::move(text);
  }
};

// Runs the event loop of `ctx` until `done()` holds. kUnavailable if the connection breaks,
// or if nothing completes within kNfsTimeoutSeconds (as for a synchronous call); `what`
// names the call waited for in that message.
Status ServiceUntil(const Session& s, nfs_context* ctx, std::string_view url, std::string_view what,
                    const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kNfsTimeoutSeconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return NfsErrorWithDetail(s, -ETIMEDOUT, url, fmt::format("no answer to {}", what));
    }
    pollfd pfd{};
    pfd.fd = nfs_get_fd(ctx);
    pfd.events = static_cast<short>(nfs_which_events(ctx));
    // Short waits: libnfs checks its own per-call timeouts only inside nfs_service().
    int n = poll(&pfd, 1, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(fmt::format("{}: poll failed: {}", url, std::strerror(errno)));
    }
    if (nfs_service(ctx, n > 0 ? pfd.revents : 0) < 0) {
      // The socket is broken for good (libnfs does not reconnect here).
      if (done()) return Status();  // the callbacks ran with the error: theirs is more precise
      return NfsError(s, -EIO, url, ctx);
    }
  }
  return Status();
}

void OnWriteDone(int status, nfs_context* /*nfs*/, void* data, void* private_data) {
  std::unique_ptr<PendingWrite> w(static_cast<PendingWrite*>(private_data));
  std::shared_ptr<WriteQueue> queue = w->queue;
  --queue->in_flight;
  ++queue->answered;
  if (status < 0) {
    // libnfs 4.0 hands an RPC-level failure (the connection broke: "RPC ERROR: Failed to
    // reconnect async") to asynchronous callbacks as -EFAULT, where its synchronous calls
    // report -EIO; its timeouts come as -EINTR, as for synchronous calls.
    queue->Fail(status == -EFAULT ? -EIO : status, Printable(static_cast<const char*>(data)));
    return;
  }
  // A server claiming more than was sent, or no progress, would corrupt the file or loop.
  const size_t written = static_cast<size_t>(status);
  if (written == 0 || written > w->data.size()) {
    queue->Fail(0, fmt::format("the NFS server reported writing {} of {} bytes", status, w->data.size()));
    return;
  }
  if (written < w->data.size()) {
    w->data.erase(w->data.begin(), w->data.begin() + static_cast<std::ptrdiff_t>(written));
    w->offset += written;
    queue->short_writes.push_back(std::move(w));
  }
}

// Writes through WRITEs of at most kMaxWrite bytes (a libnfs 4.0 limit), keeping up to
// options.writes_in_flight of them in flight on the file's context: one at a time, each
// 3 KiB would wait a full network round trip. The WRITEs go to disjoint ranges, so the order
// in which the server applies them does not matter; Commit() waits for all of them before
// its COMMIT. A failure of any WRITE fails the writer, at the Append() or Commit() that
// finds it.
class NfsWriter final : public Writer {
 public:
  NfsWriter(const Session& session, nfsfh* fh, std::string partial, std::string final_path, std::string url)
      : s_(session),
        ctx_(session.nfs),
        fh_(fh),
        partial_(std::move(partial)),
        final_(std::move(final_path)),
        url_(std::move(url)),
        max_in_flight_(std::max(1, session.options.writes_in_flight)),
        queue_(std::make_shared<WriteQueue>()) {}

  ~NfsWriter() override {
    // WRITEs still in flight are answered (or fail) before CLOSE and REMOVE, so that none
    // lands on the partial after them. Not when the server is gone or silent: that would
    // only add a timeout to those below.
    while (!unresponsive_ && queue_->in_flight > 0 && WaitForAnswer().ok()) {
    }
    queue_->short_writes.clear();  // they hold the queue
    // Best effort: with the server gone these fail (within the timeout), and the next
    // backup's RemovePartials() takes the partial away.
    if (fh_ != nullptr) nfs_close(ctx_, fh_);
    if (!committed_) nfs_unlink(s_.nfs, partial_.c_str());
  }

  Status Append(std::span<const std::byte> data) override {
    if (failed_ || committed_) return Status::FailedPrecondition(fmt::format("{}: the writer is closed", url_));
    while (!data.empty()) {
      const size_t n = std::min(data.size(), kMaxWrite);
      auto w = std::make_unique<PendingWrite>();
      w->queue = queue_;
      w->offset = offset_;
      w->data.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
      if (Status st = Send(std::move(w)); !st.ok()) {
        failed_ = true;
        return st;
      }
      offset_ += n;
      data = data.subspan(n);
    }
    return Status();
  }

  Status Commit() override {
    if (failed_ || committed_) {
      return Status::FailedPrecondition(fmt::format("{}: the writer is closed or an earlier write failed", url_));
    }
    failed_ = true;  // until proven otherwise: no second attempt after a half-done commit
    RETURN_IF_ERROR(Drain());
    // WRITEs are unstable: COMMIT makes the server put the data on disk before the file
    // gets its final name.
    if (int rc = nfs_fsync(ctx_, fh_); rc != 0) return NfsError(s_, rc, url_, ctx_);
    // CLOSE only releases the server's open state: NFS reports write errors on WRITE and
    // COMMIT (libnfs caches nothing), and a CLOSE on a renewed context fails on its stale
    // sequence ID.
    nfs_close(ctx_, std::exchange(fh_, nullptr));
    ASSIGN_OR_RETURN(bool linked, LinkNoReplace(s_, partial_, final_, url_));
    committed_ = true;
    failed_ = false;
    // The file is complete under its final name. A partial that cannot be removed now is a
    // second name of it, which RemovePartials() clears later. LINK and REMOVE are stable on
    // the server when they return (NFSv4 directory operations): no directory fsync exists.
    if (linked) nfs_unlink(s_.nfs, partial_.c_str());
    return Status();
  }

 private:
  // The first failure of a WRITE, if any.
  Status QueueStatus() const {
    const WriteQueue& q = *queue_;
    if (!q.failed) return Status();
    if (q.rc == 0) return Status::IoError(fmt::format("{}: {}", url_, q.detail));
    return NfsErrorWithDetail(s_, q.rc, url_, q.detail);
  }

  // Queues `w` once fewer than max_in_flight_ WRITEs are in flight, after the rest of any
  // short WRITE.
  Status Send(std::unique_ptr<PendingWrite> w) {
    for (;;) {
      RETURN_IF_ERROR(QueueStatus());
      if (queue_->in_flight >= max_in_flight_) {
        RETURN_IF_ERROR(WaitForAnswer());
      } else if (!queue_->short_writes.empty()) {
        std::unique_ptr<PendingWrite> rest = std::move(queue_->short_writes.back());
        queue_->short_writes.pop_back();
        RETURN_IF_ERROR(Issue(std::move(rest)));
      } else {
        return Issue(std::move(w));
      }
    }
  }

  // Waits until every WRITE sent has been answered in full.
  Status Drain() {
    for (;;) {
      RETURN_IF_ERROR(QueueStatus());
      if (!queue_->short_writes.empty() && queue_->in_flight < max_in_flight_) {
        std::unique_ptr<PendingWrite> rest = std::move(queue_->short_writes.back());
        queue_->short_writes.pop_back();
        RETURN_IF_ERROR(Issue(std::move(rest)));
      } else if (queue_->in_flight > 0) {
        RETURN_IF_ERROR(WaitForAnswer());
      } else {
        return Status();
      }
    }
  }

  Status Issue(std::unique_ptr<PendingWrite> w) {
    PendingWrite* raw = w.get();
    ++queue_->in_flight;
    int rc = nfs_pwrite_async(ctx_, fh_, raw->offset, raw->data.size(), raw->data.data(), OnWriteDone, raw);
    if (rc != 0) {
      --queue_->in_flight;  // libnfs did not take it: no callback will run
      return NfsError(s_, rc, url_, ctx_);
    }
    (void)w.release();  // OnWriteDone() takes it back
    return Status();
  }

  // Runs the context's event loop until at least one more WRITE is answered (or fails).
  // kUnavailable if the connection breaks, or if no answer comes within kNfsTimeoutSeconds
  // (as for a synchronous call).
  Status WaitForAnswer() {
    const uint64_t before = queue_->answered;
    Status st = ServiceUntil(s_, ctx_, url_, "WRITE", [&] { return queue_->answered != before; });
    if (!st.ok()) {
      unresponsive_ = true;
      RETURN_IF_ERROR(QueueStatus());
    }
    return st;
  }

  const Session& s_;
  nfs_context* ctx_;  // the context the file is open on
  nfsfh* fh_;
  std::string partial_;  // libnfs paths
  std::string final_;
  std::string url_;
  const int max_in_flight_;
  std::shared_ptr<WriteQueue> queue_;
  uint64_t offset_ = 0;  // where the next Append() starts
  bool committed_ = false;
  bool failed_ = false;
  bool unresponsive_ = false;  // the connection broke, or the server stopped answering
};

// One READ in flight: filled by OnReadDone(), which may run after the reader gave up
// waiting (a later call on the context runs its event loop), so the reader and the
// callback share it.
struct PendingRead {
  std::vector<std::byte> data;  // sized to the bytes asked for; shrunk to what came
  bool done = false;
  int rc = 0;  // <0: libnfs's -errno; 0 with `detail`: the server answered nonsense
  std::string detail;
};

void OnReadDone(int status, nfs_context* /*nfs*/, void* data, void* private_data) {
  std::unique_ptr<std::shared_ptr<PendingRead>> holder(static_cast<std::shared_ptr<PendingRead>*>(private_data));
  PendingRead& r = **holder;
  r.done = true;
  if (status < 0) {
    r.rc = status == -EFAULT ? -EIO : status;  // see OnWriteDone()
    r.detail = Printable(static_cast<const char*>(data));
    return;
  }
  // libnfs 4.0 passes the server's length unchecked (its synchronous nfs_pread() copies that
  // many bytes into the caller's buffer): never take more than was asked for.
  if (static_cast<size_t>(status) > r.data.size()) {
    r.detail = fmt::format("the NFS server returned {} bytes for a read of {}", status, r.data.size());
    return;
  }
  std::memcpy(r.data.data(), data, static_cast<size_t>(status));
  r.data.resize(static_cast<size_t>(status));
}

class NfsReader final : public Reader {
 public:
  NfsReader(const Session& session, nfsfh* fh, uint64_t offset, std::string url)
      : s_(session), ctx_(session.nfs), fh_(fh), offset_(offset), url_(std::move(url)) {}
  ~NfsReader() override { nfs_close(ctx_, fh_); }

  // Asynchronous, to check the server's answer before anything is copied (see OnReadDone).
  Result<size_t> Read(std::span<std::byte> buf) override {
    size_t n = std::min(buf.size(), kMaxRead);
    if (n == 0) return size_t{0};
    auto read = std::make_shared<PendingRead>();
    read->data.resize(n);
    auto* holder = new std::shared_ptr<PendingRead>(read);
    if (int rc = nfs_pread_async(ctx_, fh_, offset_, n, OnReadDone, holder); rc < 0) {
      delete holder;  // not queued: the callback will not run
      return NfsError(s_, rc, url_, ctx_);
    }
    RETURN_IF_ERROR(ServiceUntil(s_, ctx_, url_, "READ", [&] { return read->done; }));
    if (read->rc < 0) return NfsErrorWithDetail(s_, read->rc, url_, read->detail);
    if (!read->detail.empty()) return Status::IoError(fmt::format("{}: {}", url_, read->detail));
    std::memcpy(buf.data(), read->data.data(), read->data.size());
    offset_ += read->data.size();
    return read->data.size();
  }

 private:
  const Session& s_;
  nfs_context* ctx_;
  nfsfh* fh_;
  uint64_t offset_;
  std::string url_;
};

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
        return Status::IoError(fmt::format("{}: more than {} entries; choose a directory with fewer", Url(dir),
                                           kMaxListEntries));
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
    // Each prefix is resolved afresh, so symlinks on the way are checked like everywhere.
    for (size_t end = 0; end != std::string_view::npos;) {
      end = path.find('/', end + 1);
      std::string_view prefix = path.substr(0, end);
      ASSIGN_OR_RETURN(Resolved r, Resolve(prefix));
      if (!r.exists) {
        int rc = nfs_mkdir2(s_->nfs, Remote(r.path).c_str(), kDirMode);
        // EEXIST: made meanwhile by someone else; what it is gets checked below.
        if (rc != 0 && rc != -EEXIST) return NfsError(*s_, rc, Url(prefix));
        ASSIGN_OR_RETURN(r, Resolve(prefix));
        if (!r.exists) return NotFound(prefix);
      }
      if (!S_ISDIR(r.st.nfs_mode)) {
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
    return std::unique_ptr<Writer>(new NfsWriter(*s_, fh, std::move(partial), std::move(final_path), url));
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
    return std::unique_ptr<Reader>(new NfsReader(*s_, fh, offset, std::move(url)));
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
    std::string path;   // "" for the root
    bool exists = false;
    nfs_stat_64 st{};   // when `exists`
  };

  std::string Url(std::string_view rel) const {
    return rel.empty() ? location_ : fmt::format("{}/{}", location_, rel);
  }

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
      int rc = nfs_lstat64(s_->nfs, Remote(r.path).c_str(), &r.st);
      if (rc == -ENOENT && last) return r;
      if (rc != 0) return NfsError(*s_, rc, Url(path));
      if (S_ISLNK(r.st.nfs_mode)) {
        // Not followed: libnfs 4.0's READLINK copies the server's answer with strdup()
        // although it has no terminating NUL, reading past its buffer (found by ASan).
        return Status::InvalidArgument(fmt::format(
            "{}: {} is a symlink; symlinks on NFS storage are not followed: use the directory it points to",
            Url(path), Url(r.path)));
      }
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

std::string VersionMessage(const NfsUrl& url) {
  return fmt::format(
      "{}: NFS {} cannot be used on this system: the built-in client (libnfs 4.0) speaks NFS 4.0 only{}. Choose "
      "NFS version 4 ({}?version=4) and make sure the server allows NFS 4.0",
      url.ToString(), url.version,
      KernelHasNfs4() ? ", and Keepsake does not mount NFS through the kernel" : " and this kernel has no NFS client",
      url.Location());
}

Status MountError(const Session& s, const NfsUrl& url, int rc) {
  std::string location = url.Location();
  std::string detail = Printable(nfs_get_error(s.nfs));
  switch (rc < -1 ? -rc : 0) {
    case ENOENT:
      return Status::NotFound(fmt::format(
          "{}: the NFS server {} has no export or directory {}; check the path against the server's exports (NFSv4 "
          "clients see an export under its pseudo path)",
          location, s.server, url.path));
    case EACCES:
    case EPERM:
      return Status::PermissionDenied(fmt::format(
          "{}: the NFS server {} refused access to {}; check that the export allows this appliance's address",
          location, s.server, url.path));
    case ENOTDIR:
      return Status::InvalidArgument(fmt::format("{}: not a directory", location));
    case EINTR:
    case ETIMEDOUT:
      return Status::Unavailable(fmt::format(
          "{}: the NFS server {} did not answer within {} s; check the address, that the server is running and that "
          "no firewall blocks TCP port {}",
          location, s.server, kNfsTimeoutSeconds, url.EffectivePort()));
    default:
      break;
  }
  if (detail.find("resolv") != std::string::npos) {
    return Status::Unavailable(
        fmt::format("{}: cannot resolve the NFS server's name {}; check the name and the DNS settings", location,
                    url.host));
  }
  if (detail.find("MINOR_VERS") != std::string::npos) {
    return Status::NotSupported(fmt::format(
        "{}: the NFS server {} does not offer NFS 4.0, the only version the built-in client speaks; allow NFS 4.0 "
        "on the server",
        location, s.server));
  }
  return Status::Unavailable(fmt::format(
      "{}: the NFS server {} is unreachable: the connection failed or was closed ({}); check the address and port, "
      "that the server is running with NFSv4 over TCP, and that no firewall blocks TCP port {}",
      location, s.server, detail, url.EffectivePort()));
}

Status Session::Connect() {
  nfs = nfs_init_context();
  if (nfs == nullptr) return Status::Internal(fmt::format("{}: cannot create an NFS client", url.Location()));
  // libnfs 4.0 takes the port only through its URL parser (it has no nfs_set_nfsport()).
  std::string url_options = fmt::format("nfs://{}/?version=4&nfsport={}", url.host, url.EffectivePort());
  nfs_url* parsed = nfs_parse_url_incomplete(nfs, url_options.c_str());
  if (parsed == nullptr) {
    return Status::Internal(
        fmt::format("{}: libnfs refused its options: {}", url.Location(), Printable(nfs_get_error(nfs))));
  }
  nfs_destroy_url(parsed);
  nfs_set_version(nfs, kNfsV4);
  nfs_set_timeout(nfs, kNfsTimeoutSeconds * 1000);
  // A dead server must make calls fail, not retry forever; the next job reconnects.
  nfs_set_autoreconnect(nfs, 0);
  // Other clients and the server change the export: no cached directory contents.
  nfs_set_dircache(nfs, 0);
  if (int rc = nfs_mount(nfs, url.host.c_str(), url.path.c_str()); rc != 0) return MountError(*this, url, rc);
  return Status();
}

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
