#include "service/readiness.h"

#include <fmt/format.h>

#include "base/strings.h"

namespace keepsake::service {

bool LowOnSpace(const storage::Capacity& c) {
  return c.total != 0 && static_cast<double>(c.free) < kLowSpaceRatio * static_cast<double>(c.total);
}

Status NoDmsSet() {
  return Status::FailedPrecondition("No Domain Master Secret is set: set it in the Backup Settings first.");
}

Status NoStorageConfigured() {
  return Status::FailedPrecondition("No backup storage is configured: choose where backups go in the Backup Settings.");
}

Readiness CheckReadiness(const BackupSettings& settings, const EnginePorts& ports, uint64_t estimated_size) {
  Readiness r;
  if (!ports.keys->IsSet()) r.blockers.push_back(NoDmsSet());
  if (ports.otp_user_present && ports.otp_user_present()) {
    r.blockers.push_back(Status::FailedPrecondition(
        "The Initial OTP User still exists: log in with an OAuth user account and remove the OTP User."));
  }
  if (settings.storage.type == "none") {
    r.blockers.push_back(NoStorageConfigured());
    return r;
  }
  std::string url = settings.storage.url();
  auto unreachable = [](const Status& st) {
    return Status::FromCode(st.code(), fmt::format("The backup storage is unreachable: {}", st.message()))
        .WithErrno(st.sys_errno());
  };
  auto backend = ports.open_backend(url);
  if (!backend.ok()) {
    r.blockers.push_back(unreachable(backend.status()));
    return r;
  }
  auto access = (*backend)->GetAccess("");
  if (!access.ok()) {
    r.blockers.push_back(unreachable(access.status()));
    return r;
  }
  r.access = *access;
  if (!access->can_write)
    r.blockers.push_back(Status::PermissionDenied(fmt::format("The backup storage {} is read-only.", url)));
  auto capacity = (*backend)->GetCapacity();
  if (!capacity.ok()) {
    r.blockers.push_back(unreachable(capacity.status()));
    return r;
  }
  r.capacity = *capacity;
  if (capacity->free < estimated_size) {
    r.blockers.push_back(Status::NoSpace(fmt::format("Insufficient storage space: {} needed, {} available.",
                                                     HumanBytes(estimated_size), HumanBytes(capacity->free))));
  }
  return r;
}

}  // namespace keepsake::service
