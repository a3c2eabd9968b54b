// Whether a backup can be created now, and if not, every reason why (the Backup Status's
// "Schedule Disabled" reasons), plus warnings such as low free space. Touches the keystore,
// the OTP user file and the storage, so it may take as long as a storage round trip: the
// service computes it in the background and status requests read the cached result.
// Thread-safe (no shared state).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/backup_settings.h"
#include "storage/backend.h"

namespace keepsake::service {

struct Readiness {
  std::vector<std::string> blockers;  // empty: a backup can start now
  std::vector<std::string> warnings;
  std::optional<storage::Capacity> capacity;  // of a reachable storage
  std::optional<storage::Access> access;
};

// Below this share of free space the status and the browser warn.
constexpr double kLowSpaceRatio = 0.20;

// `estimated_size`: the space the next backup needs (last backup's size, or 0 if unknown).
Readiness CheckReadiness(const std::string& state_dir, const BackupSettings& settings, uint64_t estimated_size);

nlohmann::json ReadinessToJson(const Readiness& r);

}  // namespace keepsake::service
