// What a backup of the appliance contains right now: the component sources, with the
// internal database frozen in a consistent snapshot for as long as the plan lives.
// Components whose paths do not exist on this appliance are left out. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "appliance/database_settings.h"
#include "appliance/database_snapshot.h"
#include "archive/header.h"
#include "archive/tree_scan.h"

namespace keepsake::appliance {

struct AppliancePlan {
  std::vector<archive::ComponentSource> sources;
  DatabaseSettings database;
  std::unique_ptr<DatabaseSnapshot> snapshot;  // null for an external database
};

// kNotFound when `root` is not an appliance root (no firmware/ directory); errors of the
// database snapshot as they come.
Result<AppliancePlan> PlanApplianceBackup(const std::string& root);

// Model and firmware version of the appliance at `root` (firmware/VERSION, firmware/MODEL).
void FillApplianceIdentity(const std::string& root, archive::DeviceIdentity& device);

}  // namespace keepsake::appliance
