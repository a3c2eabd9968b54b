#include "service/job_progress.h"

namespace keepsake::service {

std::string_view JobPhaseName(JobPhase phase) {
  switch (phase) {
    case JobPhase::kIdle: return "idle";
    case JobPhase::kPreparing: return "preparing";
    case JobPhase::kWriting: return "writing";
    case JobPhase::kCommitting: return "committing";
    case JobPhase::kRetention: return "retention";
    case JobPhase::kApplying: return "applying";
  }
  return "unknown";
}

}  // namespace keepsake::service
