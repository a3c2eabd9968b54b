// Whether a backup can be created now, and if not, every reason why (the Backup Status's
// "Schedule Disabled" reasons), plus what the storage looks like. Asks the key source and
// the storage, so it may take as long as a storage round trip: the engine computes it in
// the background and status requests read the cached result. Thread-safe (no shared state).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "service/backup_settings.h"
#include "service/engine_ports.h"
#include "storage/backend.h"

namespace keepsake::service {

struct Readiness {
  std::vector<Status> blockers;               // empty: a backup can start now
  std::optional<storage::Capacity> capacity;  // of a reachable storage
  std::optional<storage::Access> access;
};

// Below this share of free space the status and the browser warn.
constexpr double kLowSpaceRatio = 0.20;

// True when `capacity` has less than kLowSpaceRatio free.
bool LowOnSpace(const storage::Capacity& capacity);

// `estimated_size`: the space the next backup needs (last backup's size, or 0 if unknown).
Readiness CheckReadiness(const BackupSettings& settings, const EnginePorts& ports, uint64_t estimated_size);

// The error every operation that needs the configured storage gives when there is none.
Status NoStorageConfigured();
// The error every operation that needs the domain keys gives before a DMS was set.
Status NoDmsSet();

}  // namespace keepsake::service
