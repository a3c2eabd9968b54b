// The Automated Backup Schedule's timer: decides when a scheduled backup is due and asks the
// engine to run it. It knows nothing of backups: the engine starts the job (or records why
// it could not), the scheduler only keeps time, so the two have no cycle.
//
// The anchor (AnchorStore) is the instant up to which runs are handled: every run due at or
// before it has fired, or the schedule was saved after it. A run more than a minute late (the
// appliance was down or busy) is a catch-up; one catch-up stands for every run missed.
// Thread-safe: its thread runs the loop; SetSchedule, NextRun and Stop may be called from
// any thread.
#pragma once

#include <date/date.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "base/clock.h"
#include "base/status.h"
#include "service/schedule.h"
#include "state/job_record.h"

namespace keepsake::service {

class AnchorStore {
 public:
  virtual ~AnchorStore() = default;
  // nullopt when never set.
  virtual Result<std::optional<date::sys_seconds>> ScheduleAnchor() = 0;
  virtual Status SetScheduleAnchor(date::sys_seconds anchor) = 0;
};

class ScheduledJobs {
 public:
  virtual ~ScheduledJobs() = default;
  // Runs the backup that was due at `due` (trigger kSchedule or kCatchUp), or records why it
  // could not start. Returns quickly: the backup runs on its own thread.
  virtual void RunScheduledBackup(state::JobTrigger trigger, date::sys_seconds due) = 0;
};

class Scheduler {
 public:
  Scheduler(const Clock& clock, AnchorStore& anchors, ScheduledJobs& jobs)
      : clock_(clock), anchors_(anchors), jobs_(jobs) {}
  ~Scheduler() { Stop(); }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Takes the stored schedule; sets the anchor to now when it was never set (a fresh
  // appliance owes no runs for the time before it existed).
  Status Init(const Schedule& schedule);
  // Starts the timer thread. Idempotent; never after Stop().
  void Start();
  // Stops and joins the timer thread. Idempotent.
  void Stop();
  // A schedule saved now: runs count from now, so saving never triggers a run for times
  // before. `changed` false keeps the anchor (other settings were saved).
  Status SetSchedule(const Schedule& schedule, bool changed);
  // The next run after the anchor; nullopt when no schedule is set or it never runs again.
  std::optional<date::sys_seconds> NextRun() const;

 private:
  void Loop();
  void Recompute();  // REQUIRES: mu_ held

  const Clock& clock_;
  AnchorStore& anchors_;
  ScheduledJobs& jobs_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable wake_;
  std::optional<CompiledSchedule> compiled_;
  std::optional<date::sys_seconds> anchor_;
  std::optional<date::sys_seconds> next_run_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace keepsake::service
