// Secrets (the DMS, domain keys) live in the memory of the keepsake and keepsaked
// processes: no core dumps, and no ptrace or /proc/<pid>/mem by other users.
#pragma once

namespace keepsake {

// Call first thing in main().
void HardenProcess();

}  // namespace keepsake
