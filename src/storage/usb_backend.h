// The usb backend: "usb://<label-or-uuid>/path" is directory `path` on the USB volume with
// that file system label (exact) or UUID (any case), as mounted by the UsbDrives registry.
// It is the local backend on the mount point, naming objects "usb://LABEL/path/file" in
// messages, and turning the I/O errors of a drive that was pulled or failed (EIO,
// ENOTCONN, ENODEV, ENXIO) into kUnavailable "... the USB drive "LABEL" was removed or
// failed", so that a job fails with words an administrator can act on.
//
// The label is everything between "usb://" and the next '/': labels containing '/' cannot
// be named, use the UUID. Not thread-safe; see storage/backend.h for the contract.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "storage/backend.h"
#include "storage/usb_drives.h"

namespace keepsake::storage {

struct UsbUrl {
  std::string volume;  // label or UUID
  std::string path;    // below the volume's root, "" for the root; passed CheckPath()
};

// Splits "usb://VOLUME[/path]" (scheme in any case; trailing '/' ignored).
// kInvalidArgument naming the URL when the volume is missing or the path is not a valid
// storage path.
Result<UsbUrl> ParseUsbUrl(std::string_view url);

// "usb://VOLUME" or "usb://VOLUME/path" (lower-case scheme, no trailing '/').
Result<std::string> NormalizeUsbUrl(std::string_view url);

// Opens `url` on the volume `drives` has mounted. kUnavailable "usb://X: no USB drive with
// label or UUID "X" is attached; ..." when it is not attached; kNotFound when `path` does
// not exist on it; kFailedPrecondition when the label is ambiguous.
Result<std::unique_ptr<Backend>> OpenUsbBackend(std::string_view url, const UsbDrives& drives);

// The same, with the process-wide registry.
Result<std::unique_ptr<Backend>> OpenUsbBackend(std::string_view url);

// `status` as the usb backend reports it: errors that mean the drive is gone or failing
// become kUnavailable naming the drive; everything else is returned unchanged.
Status DriveGoneStatus(Status status, std::string_view volume);

}  // namespace keepsake::storage
