#include "base/harden_process.h"

#include <sys/prctl.h>
#include <sys/resource.h>

namespace keepsake {

void HardenProcess() {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

}  // namespace keepsake
