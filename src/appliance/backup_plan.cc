#include "appliance/backup_plan.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "appliance/layout.h"
#include "base/file_io.h"

namespace keepsake::appliance {

void FillApplianceIdentity(const std::string& root, archive::DeviceIdentity& device) {
  if (auto version = ReadFirmwareVersion(root); version.ok()) device.firmware_version = *version;
  if (auto model = ReadSmallFile(root + "/firmware/MODEL", 256); model.ok()) {
    device.model = model->substr(0, model->find('\n'));
  }
}

Result<AppliancePlan> PlanApplianceBackup(const std::string& root) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root + "/firmware", ec)) {
    return Status::NotFound(fmt::format("{}: not an appliance state root (no firmware/ directory)", root));
  }
  AppliancePlan plan;
  ASSIGN_OR_RETURN(plan.database, LoadDatabaseSettings(root));
  for (const auto& spec : Components()) {
    archive::ComponentSource source{spec.name, {}, ""};
    if (spec.name == "database") {
      if (plan.database.external) continue;  // never backed up; its settings are
      std::string tmp = WorkDir(root);
      std::filesystem::create_directories(tmp, ec);
      ASSIGN_OR_RETURN(plan.snapshot, TakeDatabaseSnapshot(root, plan.database, tmp));
      source.items = plan.snapshot->Items();
      source.note = plan.database.Describe() + ", consistent snapshot";
    } else {
      for (const auto& path : spec.paths) {
        if (std::filesystem::exists(root + "/" + path, ec)) source.items.push_back({path, root + "/" + path, true});
      }
      if (spec.name == "database-settings" && plan.database.external) {
        source.note = plan.database.Describe() + ": connection settings only; the database itself is not backed up";
      }
    }
    if (!source.items.empty()) plan.sources.push_back(std::move(source));
  }
  return plan;
}

}  // namespace keepsake::appliance
