// This device's identity as recorded in backups: a random device id kept in the state
// directory, the host name, the model and the firmware version.
#pragma once

#include <string>

#include "archive/header.h"

namespace keepsake::appliance {

// Creates "<state dir>/device-id" on first use. File system errors as they come.
Result<archive::DeviceIdentity> LoadDeviceIdentity(const std::string& state_dir);

}  // namespace keepsake::appliance
