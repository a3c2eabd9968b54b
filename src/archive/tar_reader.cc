#include "archive/tar_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <vector>

#include "archive/format.h"
#include "base/sha256.h"
#include "base/strings.h"

namespace keepsake::archive {
namespace {

constexpr size_t kReadBuffer = 256 * 1024;

// libarchive's message for its last error, which it may not have (a null pointer crashed
// fmt: found by the independent verifier's tests); safe to print.
std::string ArchiveError(struct archive* a) {
  const char* text = archive_error_string(a);
  return text ? Printable(text) : "no detail given";
}

struct SourceContext {
  ByteSource* source;
  std::vector<std::byte> buf;
  Status status;
};

la_ssize_t ReadCallback(struct archive* a, void* ctx, const void** out) {
  auto* c = static_cast<SourceContext*>(ctx);
  auto n = c->source->Read(c->buf);
  if (!n.ok()) {
    c->status = std::move(n).status();
    archive_set_error(a, EIO, "%s", "upstream read failed");
    return -1;
  }
  *out = c->buf.data();
  return static_cast<la_ssize_t>(*n);
}

struct Seen {
  EntryType type;
  uint64_t size = 0;
  std::string sha256;
  std::string target;
};

// Starts the disk writeback of a large file being extracted every few MiB, so that the
// disk works while decryption and decompression go on, and the sync that makes a restore
// durable finds little left to write. Only starts writeback (SYNC_FILE_RANGE_WRITE): it
// never waits and gives no durability by itself.
class WritebackStarter {
 public:
  explicit WritebackStarter(std::string path) : path_(std::move(path)) {}
  ~WritebackStarter() {
    if (fd_ >= 0) close(fd_);
  }
  void Written(uint64_t end) {
    if (path_.empty() || end - started_ < kStep) return;
    if (fd_ < 0) fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd_ >= 0)
      sync_file_range(fd_, static_cast<off_t>(started_), static_cast<off_t>(end - started_), SYNC_FILE_RANGE_WRITE);
    started_ = end;
  }

 private:
  static constexpr uint64_t kStep = 16 << 20;
  std::string path_;
  int fd_ = -1;
  uint64_t started_ = 0;
};

using ReadPtr = std::unique_ptr<struct archive, decltype(&archive_read_free)>;
using WritePtr = std::unique_ptr<struct archive, decltype(&archive_write_free)>;

class Unpacker {
 public:
  Unpacker(ByteSource& in, const std::string& target, const UnpackLimits& limits)
      : reader_(archive_read_new(), archive_read_free),
        disk_(archive_write_disk_new(), archive_write_free),
        ctx_{&in, std::vector<std::byte>(kReadBuffer), Status()},
        target_(target),
        limits_(limits) {}

  Result<UnpackResult> Run() {
    archive_read_support_format_tar(reader_.get());
    if (archive_read_open(reader_.get(), &ctx_, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
      return ReadError("opening the tar stream");
    }
    int flags =
        ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
    if (geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
    archive_write_disk_set_options(disk_.get(), flags);
    bool have_manifest = false;
    std::string manifest_json;
    for (;;) {
      struct archive_entry* entry = nullptr;
      int r = archive_read_next_header(reader_.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK) return ReadError("reading a tar header");
      std::string path = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
      // tar writes directories with a trailing slash.
      if (archive_entry_filetype(entry) == AE_IFDIR && path.size() > 1 && path.back() == '/') path.pop_back();
      if (have_manifest)
        return Status::Corruption(fmt::format("tar member '{}' follows the manifest", Printable(path)));
      if (path == kManifestName) {
        ASSIGN_OR_RETURN(manifest_json, ReadManifest(entry));
        have_manifest = true;
        continue;
      }
      RETURN_IF_ERROR(HandleEntry(path, entry));
    }
    if (!have_manifest) return Status::Corruption("the backup has no manifest");
    if (!target_.empty() && archive_write_close(disk_.get()) != ARCHIVE_OK) {
      return Status::IoError(fmt::format("finishing extraction: {}", ArchiveError(disk_.get())));
    }
    ASSIGN_OR_RETURN(result_.manifest, ParseManifest(manifest_json));
    RETURN_IF_ERROR(CompareWithManifest());
    return std::move(result_);
  }

 private:
  Status HandleEntry(const std::string& path, struct archive_entry* entry) {
    RETURN_IF_ERROR(CheckArchivePath(path).WithContext("unsafe tar member"));
    if (seen_.count(path) != 0)
      return Status::Corruption(fmt::format("tar member '{}' appears twice", Printable(path)));
    if (seen_.size() >= limits_.max_entries) {
      return Status::Corruption(fmt::format("the tar stream holds more than {} members", limits_.max_entries));
    }
    Seen s;
    switch (archive_entry_filetype(entry)) {
      case AE_IFREG:
        s.type = EntryType::kFile;
        break;
      case AE_IFDIR:
        s.type = EntryType::kDir;
        break;
      case AE_IFLNK:
        s.type = EntryType::kSymlink;
        s.target = archive_entry_symlink(entry) ? archive_entry_symlink(entry) : "";
        break;
      default:
        return Status::Corruption(fmt::format("tar member '{}' has an unsupported type", Printable(path)));
    }
    if (archive_entry_hardlink(entry) != nullptr) {
      return Status::Corruption(
          fmt::format("tar member '{}' is a hard link, which backups never contain", Printable(path)));
    }
    if (s.type == EntryType::kFile && result_.files >= limits_.max_files) {
      return Status::Corruption(
          fmt::format("the tar stream holds more than the {} files its header declares", limits_.max_files));
    }
    if (!target_.empty()) {
      std::string dest = target_ + "/" + path;
      archive_entry_copy_pathname(entry, dest.c_str());
      // Nothing restored runs with its owner's rights: a backup is data, never a way to
      // plant a setuid program on the appliance.
      archive_entry_set_perm(entry, archive_entry_perm(entry) & ~mode_t{S_ISUID | S_ISGID});
      if (archive_write_header(disk_.get(), entry) != ARCHIVE_OK) return DiskError(path);
    }
    if (s.type == EntryType::kFile) {
      WritebackStarter writeback(target_.empty() ? "" : target_ + "/" + path);
      Sha256 sha;
      const void* block;
      size_t size;
      la_int64_t offset;
      for (;;) {
        int r = archive_read_data_block(reader_.get(), &block, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK) return ReadError(path);
        sha.Update(std::span(static_cast<const std::byte*>(block), size));
        s.size += size;
        if (result_.bytes + s.size > limits_.max_file_bytes) {
          return Status::Corruption(
              fmt::format("the tar stream holds more than the {} bytes its header declares", limits_.max_file_bytes));
        }
        if (!target_.empty() && archive_write_data_block(disk_.get(), block, size, offset) != ARCHIVE_OK) {
          return DiskError(path);
        }
        writeback.Written(static_cast<uint64_t>(offset) + size);
      }
      s.sha256 = sha.FinalHex();
      result_.files += 1;
      result_.bytes += s.size;
    }
    if (!target_.empty() && archive_write_finish_entry(disk_.get()) != ARCHIVE_OK) return DiskError(path);
    seen_.emplace(path, std::move(s));
    return Status();
  }

  Result<std::string> ReadManifest(struct archive_entry* entry) {
    if (archive_entry_size(entry) < 0 || static_cast<uint64_t>(archive_entry_size(entry)) > kMaxManifestSize) {
      return Status::Corruption("the manifest is larger than allowed");
    }
    std::string json(static_cast<size_t>(archive_entry_size(entry)), '\0');
    la_ssize_t n = archive_read_data(reader_.get(), json.data(), json.size());
    if (n < 0 || static_cast<size_t>(n) != json.size()) return ReadError("manifest");
    return json;
  }

  Status CompareWithManifest() {
    size_t listed = 0;
    for (const auto& c : result_.manifest.components) {
      for (const auto& e : c.entries) {
        ++listed;
        auto it = seen_.find(e.path);
        if (it == seen_.end())
          return Status::Corruption(fmt::format("'{}' is in the manifest but not in the backup", e.path));
        const Seen& s = it->second;
        if (s.type != e.type || (e.type == EntryType::kFile && (s.size != e.size || s.sha256 != e.sha256)) ||
            (e.type == EntryType::kSymlink && s.target != e.target)) {
          return Status::Corruption(
              fmt::format("'{}' does not match its manifest entry (size or SHA-256 differs)", e.path));
        }
      }
    }
    if (listed != seen_.size()) return Status::Corruption("the backup holds entries that its manifest does not list");
    return Status();
  }

  Status ReadError(std::string_view what) {
    if (!ctx_.status.ok()) return ctx_.status;
    return Status::Corruption(fmt::format("tar stream ({}): {}", Printable(what), ArchiveError(reader_.get())));
  }
  Status DiskError(std::string_view path) {
    return Status::IoError(fmt::format("{}/{}: {}", target_, Printable(path), ArchiveError(disk_.get())));
  }

  ReadPtr reader_;
  WritePtr disk_;
  SourceContext ctx_;
  std::string target_;
  const UnpackLimits limits_;
  std::map<std::string, Seen> seen_;
  UnpackResult result_;
};

}  // namespace

Status CheckArchivePath(std::string_view path) {
  if (path.empty() || path.size() > 4096 || path.front() == '/') {
    return Status::Corruption(fmt::format("'{}' is not a relative path", Printable(path)));
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return Status::Corruption(fmt::format("'{}' has an empty, '.' or '..' component", Printable(path)));
    }
    start = end + 1;
  }
  return Status();
}

Result<UnpackResult> UnpackTar(ByteSource& in, const std::string& target_dir, const UnpackLimits& limits) {
  return Unpacker(in, target_dir, limits).Run();
}

}  // namespace keepsake::archive
