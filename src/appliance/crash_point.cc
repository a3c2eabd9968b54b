#include "appliance/crash_point.h"

#include <signal.h>

#include <cstdlib>
#include <string>

namespace keepsake::appliance {

void CrashPoint(std::string_view name, int index) {
  const char* at = std::getenv("KEEPSAKE_CRASH_AT");
  if (at == nullptr) return;
  std::string here(name);
  if (index >= 0) here += ":" + std::to_string(index);
  if (here == at) raise(SIGKILL);
}

}  // namespace keepsake::appliance
