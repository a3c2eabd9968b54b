// What the backup engine needs from the world, handed to it at construction, as LevelDB's
// Options carry an Env: the daemon passes the real things (storage::OpenBackend, the
// keystore, the system clock, the audit log, the account store's view of the Initial OTP
// User); unit tests pass an in-memory storage (storage::MemBackend), a clock they move, and
// a temporary audit log. The appliance itself is reached through ServiceOptions'
// appliance_root: its tests use a real small appliance state, which costs milliseconds.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/restore.h"
#include "base/clock.h"
#include "base/status.h"
#include "service/key_source.h"
#include "state/audit_log.h"
#include "storage/backend.h"
#include "storage/usb_drives.h"

namespace keepsake::service {

using BackendOpener = std::function<Result<std::unique_ptr<storage::Backend>>(std::string_view url)>;

struct EnginePorts {
  // Opens the storage at a canonical storage URL. Default: storage::OpenBackend.
  BackendOpener open_backend;
  // The domain keys. Default: the keystore of the state directory (ServiceOptions::kdf for a
  // DMS set through the API).
  std::shared_ptr<KeySource> keys;
  // The scheduler's time and the times of the history. REQUIRES: not null, outlives the engine.
  const Clock* clock = nullptr;
  // Where security-relevant events go. REQUIRES: not null, outlives the engine.
  state::AuditLog* audit = nullptr;
  // Whether the Initial OTP User still exists (auth's knowledge): backups are refused while
  // it does. Default: never.
  std::function<bool()> otp_user_present;
  // Files outside the appliance that a restored component makes obsolete (auth's rule: the
  // OTP User's credential goes when the accounts are restored).
  std::vector<appliance::SupersededFile> superseded_by_restore;
  // The USB drives attached now, and a rescan. Default: none attached, rescan a no-op.
  std::function<std::vector<storage::UsbDrive>()> usb_drives;
  std::function<Status()> rescan_usb;
};

}  // namespace keepsake::service
