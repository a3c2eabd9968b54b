// The appliance's state root and what a backup contains: the one place that names the
// components and the paths they cover (the layout tools/gen_state.py makes for tests, demo and benchmarks).
//
//   firmware/              firmware configuration (firmware/VERSION: "firmware=X.Y.Z")
//   config/                service configuration           -> component "firmware"
//   system/cluster/        cluster settings                -> component "cluster"
//   system/network/        network settings                -> component "network"
//   system/database/       database settings (connection.json) -> "database-settings"
//   system/accounts/       OAuth user accounts (hashes)    -> component "accounts"
//   db/internal.sqlite     the internal database           -> component "database"
//   .keepsake/             restore staging, journal and rollback point (never backed up)
//
// Never in a backup: HSM contents, an external database, the Domain Master Secret, the
// Initial OTP User (kept in the state directory, not here). Value types; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace keepsake::appliance {

struct ComponentSpec {
  std::string name;
  std::vector<std::string> paths;  // relative to the root; directories are taken whole
  std::string description;
};

// Every component, in backup and restore order.
const std::vector<ComponentSpec>& Components();
const ComponentSpec* FindComponent(std::string_view name);

// "firmware,system,database" -> component names; "system" stands for cluster, network,
// database-settings and accounts, "all" for everything. kInvalidArgument naming an
// unknown name and listing the known ones.
Result<std::vector<std::string>> ParseComponentList(std::string_view list);

// Where restore keeps its staging area, journal and rollback point: inside the root, so
// that swapping a component in or out is a rename on one file system.
std::string WorkDir(const std::string& root);

// The firmware version from firmware/VERSION ("firmware=4.5.13"); kNotFound without it.
Result<std::string> ReadFirmwareVersion(const std::string& root);

// Compares dotted numeric versions ("4.10.2" > "4.9"): <0, 0, >0.
int CompareVersions(std::string_view a, std::string_view b);

}  // namespace keepsake::appliance
