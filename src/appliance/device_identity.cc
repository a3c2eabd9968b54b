#include "appliance/device_identity.h"

#include <unistd.h>

#include "archive/backup_file.h"
#include "base/file_io.h"
#include "crypto/keystore.h"

namespace keepsake::appliance {

Result<archive::DeviceIdentity> LoadDeviceIdentity(const std::string& state_dir) {
  archive::DeviceIdentity id;
  std::string path = state_dir + "/device-id";
  auto text = ReadSmallFile(path, 256);
  if (!text.ok() && text.status().code() == ErrorCode::kNotFound) {
    RETURN_IF_ERROR(crypto::EnsureStateDir(state_dir));
    std::string fresh = archive::NewBackupId();
    Status st = WriteFileAtomic(path, fresh + "\n", 0644);
    if (!st.ok() && st.code() != ErrorCode::kAlreadyExists) return st;
    text = ReadSmallFile(path, 256);
  }
  if (!text.ok()) return std::move(text).status();
  id.device_id = text->substr(0, text->find('\n'));
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  id.hostname = host;
  id.model = "Keepsake appliance";
  id.firmware_version = "1.0.0";
  return id;
}

}  // namespace keepsake::appliance
