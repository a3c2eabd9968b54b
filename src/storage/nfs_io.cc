#include "storage/nfs_io.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <vector>

namespace keepsake::storage::nfs {
namespace {

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
    queue->Fail(status == -EFAULT ? -EIO : status, NfsText(static_cast<const char*>(data)));
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
    // Without libnfs's own per-call timeout: libnfs runs it only inside nfs_service(), and
    // between two Appends nobody calls that while the producer works (a long stretch of
    // zeros compresses to nothing for many seconds). A WRITE answered long ago was then
    // declared timed out as soon as the next Append looked (reproduced: a backup of 12 GiB
    // of zeros to NFS failed with "did not answer within 15 s"). A dead server is still
    // found: ServiceUntil() allows kNfsTimeoutSeconds from the moment it starts waiting.
    nfs_set_timeout(ctx_, -1);
    int rc = nfs_pwrite_async(ctx_, fh_, raw->offset, raw->data.size(), raw->data.data(), OnWriteDone, raw);
    nfs_set_timeout(ctx_, kNfsTimeoutSeconds * 1000);  // synchronous calls keep theirs
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
    r.detail = NfsText(static_cast<const char*>(data));
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

}  // namespace

std::unique_ptr<Writer> NewNfsWriter(const Session& session, nfsfh* fh, std::string partial, std::string final_path,
                                     std::string url) {
  return std::make_unique<NfsWriter>(session, fh, std::move(partial), std::move(final_path), std::move(url));
}

std::unique_ptr<Reader> NewNfsReader(const Session& session, nfsfh* fh, uint64_t offset, std::string url) {
  return std::make_unique<NfsReader>(session, fh, offset, std::move(url));
}

}  // namespace keepsake::storage::nfs
