#include "storage/usb_backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "storage/local_backend.h"

namespace keepsake::storage {
namespace {

constexpr std::string_view kPrefix = "usb://";

// Errors of a drive that went away or failed underneath the mount: the block layer's EIO,
// ENODEV and ENXIO, and a dead exfat-fuse's ENOTCONN. Recognised by the errno the local
// backend's Status carries (StatusFromErrno), never by the words of its message.
constexpr int kGoneErrnos[] = {EIO, ENOTCONN, ENODEV, ENXIO};

template <typename T>
Result<T> Mapped(Result<T> r, std::string_view volume) {
  if (r.ok()) return r;
  return DriveGoneStatus(std::move(r).status(), volume);
}

class UsbWriter final : public Writer {
 public:
  UsbWriter(std::unique_ptr<Writer> inner, std::string volume) : inner_(std::move(inner)), volume_(std::move(volume)) {}
  Status Append(std::span<const std::byte> data) override { return DriveGoneStatus(inner_->Append(data), volume_); }
  Status Commit() override { return DriveGoneStatus(inner_->Commit(), volume_); }

 private:
  std::unique_ptr<Writer> inner_;
  std::string volume_;
};

class UsbReader final : public Reader {
 public:
  UsbReader(std::unique_ptr<Reader> inner, std::string volume) : inner_(std::move(inner)), volume_(std::move(volume)) {}
  Result<size_t> Read(std::span<std::byte> buf) override { return Mapped(inner_->Read(buf), volume_); }

 private:
  std::unique_ptr<Reader> inner_;
  std::string volume_;
};

class UsbBackend final : public Backend {
 public:
  UsbBackend(std::unique_ptr<Backend> local, std::string volume)
      : local_(std::move(local)), volume_(std::move(volume)) {}

  Result<std::vector<Entry>> List(std::string_view dir, std::string_view filter) override {
    return Mapped(local_->List(dir, filter), volume_);
  }
  Result<Entry> Stat(std::string_view path) override { return Mapped(local_->Stat(path), volume_); }
  Result<Capacity> GetCapacity() override { return Mapped(local_->GetCapacity(), volume_); }
  Result<Access> GetAccess(std::string_view dir) override { return Mapped(local_->GetAccess(dir), volume_); }
  Status MakeDir(std::string_view path) override { return DriveGoneStatus(local_->MakeDir(path), volume_); }
  Result<std::unique_ptr<Writer>> NewWriter(std::string_view path) override {
    ASSIGN_OR_RETURN(auto writer, Mapped(local_->NewWriter(path), volume_));
    return std::unique_ptr<Writer>(new UsbWriter(std::move(writer), volume_));
  }
  Result<std::unique_ptr<Reader>> NewReader(std::string_view path, uint64_t offset) override {
    ASSIGN_OR_RETURN(auto reader, Mapped(local_->NewReader(path, offset), volume_));
    return std::unique_ptr<Reader>(new UsbReader(std::move(reader), volume_));
  }
  Status Rename(std::string_view from, std::string_view to) override {
    return DriveGoneStatus(local_->Rename(from, to), volume_);
  }
  Status Remove(std::string_view path) override { return DriveGoneStatus(local_->Remove(path), volume_); }

 private:
  std::unique_ptr<Backend> local_;
  std::string volume_;
};

}  // namespace

Result<UsbUrl> ParseUsbUrl(std::string_view url) {
  auto invalid = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("storage URL \"{}\": {}", url, why));
  };
  std::string_view scheme = url.substr(0, std::min(url.size(), kPrefix.size()));
  bool usb = scheme.size() == kPrefix.size() &&
             std::equal(scheme.begin(), scheme.end(), kPrefix.begin(),
                        [](unsigned char a, unsigned char b) { return std::tolower(a) == b; });
  if (!usb) return invalid("expected usb://<label-or-uuid>/directory");
  std::string_view rest = url.substr(kPrefix.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  size_t slash = rest.find('/');
  UsbUrl parsed;
  parsed.volume = std::string(rest.substr(0, slash));
  if (parsed.volume.empty() || parsed.volume.find('\0') != std::string::npos) {
    return invalid("the drive's label or UUID is missing (expected usb://<label-or-uuid>/directory)");
  }
  if (slash != std::string_view::npos) {
    parsed.path = std::string(rest.substr(slash + 1));
    if (parsed.path == "." || !CheckPath(parsed.path).ok()) {
      return invalid("the directory must be a path on the drive without \"..\", \".\" or \"//\"");
    }
  }
  return parsed;
}

Result<std::string> NormalizeUsbUrl(std::string_view url) {
  ASSIGN_OR_RETURN(UsbUrl parsed, ParseUsbUrl(url));
  if (parsed.path.empty()) return fmt::format("usb://{}", parsed.volume);
  return fmt::format("usb://{}/{}", parsed.volume, parsed.path);
}

Result<std::unique_ptr<Backend>> OpenUsbBackend(std::string_view url, const UsbDrives& drives) {
  ASSIGN_OR_RETURN(UsbUrl parsed, ParseUsbUrl(url));
  ASSIGN_OR_RETURN(std::string mount_point, drives.MountPointFor(parsed.volume));
  // The directory is content of the drive: resolved beneath the mount point, so that a
  // symlink on the drive cannot make the appliance's own files the storage.
  ASSIGN_OR_RETURN(
      auto local,
      Mapped(OpenLocalBackend(mount_point, fmt::format("usb://{}", parsed.volume), parsed.path), parsed.volume));
  return std::unique_ptr<Backend>(new UsbBackend(std::move(local), parsed.volume));
}

Result<std::unique_ptr<Backend>> OpenUsbBackend(std::string_view url) {
  return OpenUsbBackend(url, UsbDrives::Global());
}

Status DriveGoneStatus(Status status, std::string_view volume) {
  const int err = status.sys_errno();
  if (std::find(std::begin(kGoneErrnos), std::end(kGoneErrnos), err) == std::end(kGoneErrnos)) return status;
  // "<what>: <strerror>" becomes "<what>: the USB drive ... (<strerror>) ...".
  std::string_view what = status.message();
  std::string suffix = fmt::format(": {}", std::strerror(err));
  if (what.ends_with(suffix)) what.remove_suffix(suffix.size());
  return Status::Unavailable(
             fmt::format("{}: the USB drive \"{}\" was removed or failed ({}); reattach it, check it, and try again",
                         what, volume, std::strerror(err)))
      .WithErrno(err);
}

}  // namespace keepsake::storage
