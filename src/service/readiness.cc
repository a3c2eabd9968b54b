#include "service/readiness.h"

#include <unistd.h>

#include <fmt/format.h>

#include "appliance/restore.h"
#include "base/strings.h"
#include "crypto/keystore.h"
#include "service/backup_job.h"
#include "service/storage_browser.h"

namespace keepsake::service {

Readiness CheckReadiness(const std::string& state_dir, const BackupSettings& settings, uint64_t estimated_size) {
  Readiness r;
  if (!crypto::KeystoreExists(state_dir)) {
    r.blockers.push_back("No Domain Master Secret is set: set it in the Backup Settings first.");
  }
  if (::access(appliance::OtpUserPath(state_dir).c_str(), F_OK) == 0) {
    r.blockers.push_back(
        "The Initial OTP User still exists: log in with an OAuth user account and remove the OTP User.");
  }
  if (settings.storage.type == "none") {
    r.blockers.push_back("No backup storage is configured: choose where backups go in the Backup Settings.");
    return r;
  }
  std::string url = settings.storage.url();
  auto backend = storage::OpenBackend(url);
  if (!backend.ok()) {
    r.blockers.push_back(fmt::format("The backup storage is unreachable: {}", backend.status().message()));
    return r;
  }
  auto access = (*backend)->GetAccess("");
  if (!access.ok()) {
    r.blockers.push_back(fmt::format("The backup storage is unreachable: {}", access.status().message()));
    return r;
  }
  r.access = *access;
  if (!access->can_write) r.blockers.push_back(fmt::format("The backup storage {} is read-only.", url));
  auto capacity = (*backend)->GetCapacity();
  if (!capacity.ok()) {
    r.blockers.push_back(fmt::format("The backup storage is unreachable: {}", capacity.status().message()));
    return r;
  }
  r.capacity = *capacity;
  if (capacity->free < estimated_size) {
    r.blockers.push_back(fmt::format("Insufficient storage space: {} needed, {} available.", HumanBytes(estimated_size),
                                     HumanBytes(capacity->free)));
  }
  if (std::string warning = LowSpaceWarning(*capacity); !warning.empty()) r.warnings.push_back(warning);
  return r;
}

nlohmann::json ReadinessToJson(const Readiness& r) {
  nlohmann::json j = {{"blockers", r.blockers}, {"warnings", r.warnings}};
  if (r.capacity) {
    j["storage"] = CapacityToJson(*r.capacity);
    if (r.access) j["storage"]["permission"] = PermissionText(*r.access);
  } else {
    j["storage"] = nullptr;
  }
  return j;
}

}  // namespace keepsake::service
