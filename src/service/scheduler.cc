#include "service/scheduler.h"

#include "base/log.h"

namespace keepsake::service {

Status Scheduler::Init(const Schedule& schedule) {
  ASSIGN_OR_RETURN(std::optional<date::sys_seconds> anchor, anchors_.ScheduleAnchor());
  if (!anchor) {
    anchor = clock_.Now();
    RETURN_IF_ERROR(anchors_.SetScheduleAnchor(*anchor));
  }
  auto compiled = CompiledSchedule::Compile(schedule);
  std::lock_guard lock(mu_);
  anchor_ = anchor;
  // Validated when saved; a stored schedule that no longer compiles (tzdata changed) never
  // runs, and the status says there is no next run.
  compiled_.reset();
  if (compiled.ok()) compiled_ = std::move(*compiled);
  Recompute();
  return Status();
}

void Scheduler::Start() {
  std::lock_guard lock(mu_);
  if (stopping_ || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status Scheduler::SetSchedule(const Schedule& schedule, bool changed) {
  ASSIGN_OR_RETURN(CompiledSchedule compiled, CompiledSchedule::Compile(schedule));
  date::sys_seconds now = clock_.Now();
  if (changed) RETURN_IF_ERROR(anchors_.SetScheduleAnchor(now));
  {
    std::lock_guard lock(mu_);
    compiled_ = std::move(compiled);
    if (changed) anchor_ = now;
    Recompute();
  }
  wake_.notify_all();
  return Status();
}

std::optional<date::sys_seconds> Scheduler::NextRun() const {
  std::lock_guard lock(mu_);
  return next_run_;
}

void Scheduler::Recompute() {
  next_run_.reset();
  if (compiled_ && anchor_) next_run_ = compiled_->NextAfter(*anchor_);
}

void Scheduler::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    date::sys_seconds now = clock_.Now();
    if (next_run_ && *next_run_ <= now) {
      date::sys_seconds due = *next_run_;
      // Handled from here on, even if the anchor cannot be stored (disk full): never spin.
      anchor_ = now;
      Recompute();
      lock.unlock();
      Status anchored = anchors_.SetScheduleAnchor(now);
      if (!anchored.ok()) log::error("schedule: {}", anchored.message());
      auto trigger = now - due > std::chrono::minutes(1) ? state::JobTrigger::kCatchUp : state::JobTrigger::kSchedule;
      jobs_.RunScheduledBackup(trigger, due);
      lock.lock();
      continue;
    }
    auto sleep = clock_.max_sleep();
    if (next_run_) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*next_run_ - now);
      sleep = std::min(sleep, std::max(until, std::chrono::milliseconds(1)));
    }
    wake_.wait_for(lock, sleep);
  }
}

}  // namespace keepsake::service
