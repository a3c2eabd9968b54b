#include "archive/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <ctime>
#include <memory>
#include <vector>

#include "archive/format.h"
#include "base/sha256.h"

namespace keepsake::archive {
namespace {

constexpr size_t kReadBlock = 256 * 1024;

struct SinkContext {
  ByteSink* sink;
  Status status;
};

la_ssize_t WriteCallback(struct archive* a, void* ctx, const void* buf, size_t len) {
  auto* c = static_cast<SinkContext*>(ctx);
  c->status = c->sink->Write(std::span(static_cast<const std::byte*>(buf), len));
  if (!c->status.ok()) {
    archive_set_error(a, EIO, "%s", "downstream write failed");
    return -1;
  }
  return static_cast<la_ssize_t>(len);
}

using ArchivePtr = std::unique_ptr<struct archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<struct archive_entry, decltype(&archive_entry_free)>;

class TarWriter {
 public:
  TarWriter(ByteSink& out) : ctx_{&out, Status()}, archive_(archive_write_new(), archive_write_free) {}

  Status Open() {
    // Full pax keeps nanosecond mtimes; atime and ctime are left out (they change on read).
    archive_write_set_format_pax(archive_.get());
    // File names are bytes: store them as they are, whatever the process locale, so that
    // any name round-trips (pax hdrcharset=BINARY).
    archive_write_set_format_option(archive_.get(), "pax", "hdrcharset", "BINARY");
    archive_write_set_bytes_in_last_block(archive_.get(), 1);
    if (archive_write_open2(archive_.get(), &ctx_, nullptr, WriteCallback, nullptr, nullptr) != ARCHIVE_OK) {
      return Error("open");
    }
    return Status();
  }

  Status WriteEntry(const ScannedEntry& e, ManifestEntry& m, uint64_t& done, const ProgressFn& progress) {
    EntryPtr entry(archive_entry_new(), archive_entry_free);
    archive_entry_copy_pathname(entry.get(), e.archive_path.c_str());
    archive_entry_copy_stat(entry.get(), &e.st);
    archive_entry_unset_atime(entry.get());
    archive_entry_unset_ctime(entry.get());
    archive_entry_unset_birthtime(entry.get());
    archive_entry_set_nlink(entry.get(), 1);
    m.path = e.archive_path;
    m.mode = e.st.st_mode & 07777;
    m.mtime = e.st.st_mtim.tv_sec;
    if (S_ISLNK(e.st.st_mode)) {
      archive_entry_copy_symlink(entry.get(), e.link_target.c_str());
      m.type = EntryType::kSymlink;
      m.target = e.link_target;
    } else if (S_ISDIR(e.st.st_mode)) {
      m.type = EntryType::kDir;
    } else {
      m.type = EntryType::kFile;
      m.size = static_cast<uint64_t>(e.st.st_size);
    }
    // Open before writing the header so that an unreadable file fails cleanly.
    int fd = -1;
    if (m.type == EntryType::kFile) {
      fd = open(e.disk_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) return StatusFromErrno(errno, e.disk_path);
    }
    if (archive_write_header(archive_.get(), entry.get()) != ARCHIVE_OK) {
      if (fd >= 0) close(fd);
      return Error(e.archive_path);
    }
    if (fd < 0) return Status();
    Status st = CopyFile(fd, e, m, done, progress);
    close(fd);
    return st;
  }

  Status WriteManifest(const std::string& json) {
    EntryPtr entry(archive_entry_new(), archive_entry_free);
    archive_entry_copy_pathname(entry.get(), std::string(kManifestName).c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0600);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(json.size()));
    archive_entry_set_mtime(entry.get(), time(nullptr), 0);
    if (archive_write_header(archive_.get(), entry.get()) != ARCHIVE_OK) return Error("manifest");
    if (archive_write_data(archive_.get(), json.data(), json.size()) != static_cast<la_ssize_t>(json.size())) {
      return Error("manifest");
    }
    return Status();
  }

  Status Close() {
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) return Error("close");
    return Status();
  }

 private:
  Status CopyFile(int fd, const ScannedEntry& e, ManifestEntry& m, uint64_t& done, const ProgressFn& progress) {
    Sha256 sha;
    buf_.resize(kReadBlock);
    uint64_t copied = 0;
    for (;;) {
      ssize_t n = read(fd, buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return StatusFromErrno(errno, e.disk_path);
      if (n == 0) break;
      if (copied + static_cast<uint64_t>(n) > m.size) break;  // grew: caught below
      sha.Update(std::as_bytes(std::span(buf_.data(), static_cast<size_t>(n))));
      if (archive_write_data(archive_.get(), buf_.data(), static_cast<size_t>(n)) != n) return Error(e.archive_path);
      copied += static_cast<uint64_t>(n);
      done += static_cast<uint64_t>(n);
      if (progress && !progress(done)) return Status::Cancelled("backup aborted: service stopped");
    }
    if (copied != m.size) {
      return Status::FailedPrecondition(fmt::format(
          "{}: the file changed size while it was backed up ({} bytes expected, {} read); run the backup again",
          e.disk_path, m.size, copied));
    }
    m.sha256 = sha.FinalHex();
    return Status();
  }

  Status Error(std::string_view what) {
    if (!ctx_.status.ok()) return ctx_.status;
    const char* detail = archive_error_string(archive_.get());
    return Status::IoError(fmt::format("writing tar ({}): {}", what, detail ? detail : "no detail given"));
  }

  // ctx_ first, so that it outlives archive_: archive_write_free flushes an unfinished
  // archive through WriteCallback, which writes ctx_ (reproduced: a backup cut short wrote
  // into the destroyed context and corrupted the heap; keepsaked aborted).
  SinkContext ctx_;
  ArchivePtr archive_;
  std::vector<char> buf_;
};

}  // namespace

Status WriteTar(const TreeScan& scan, Manifest manifest, ByteSink& out, const ProgressFn& progress) {
  TarWriter tar(out);
  RETURN_IF_ERROR(tar.Open());
  manifest.components.clear();
  for (const auto& c : scan.components) manifest.components.push_back({c.name, {}});
  uint64_t done = 0;
  for (const auto& e : scan.entries) {
    ManifestEntry m;
    RETURN_IF_ERROR(tar.WriteEntry(e, m, done, progress));
    manifest.components[e.component].entries.push_back(std::move(m));
  }
  RETURN_IF_ERROR(tar.WriteManifest(SerializeManifest(manifest)));
  return tar.Close();
}

}  // namespace keepsake::archive
