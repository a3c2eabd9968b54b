// Crash injection for the restore's crash-safety tests.
//
// CrashPoint("moved-old", 2) kills the process with SIGKILL (as a power cut or `kill -9`
// would) when the environment variable KEEPSAKE_CRASH_AT equals "moved-old:2" (or
// "moved-old" when no index is given). Production never sets the variable; the check is
// one getenv per point, on the restore path only. Thread-safe.
#pragma once

#include <string_view>

namespace keepsake::appliance {

void CrashPoint(std::string_view name, int index = -1);

}  // namespace keepsake::appliance
