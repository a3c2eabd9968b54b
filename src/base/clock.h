// Where the daemon's scheduler gets the time. The system clock in production; for tests a
// clock read from a file ("<unix seconds>\n"), so that a test can move time forward by days
// and watch the schedule fire without waiting. Thread-safe.
#pragma once

#include <date/date.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace keepsake {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual date::sys_seconds Now() const = 0;
  // The longest the scheduler may sleep before looking at Now() again. Bounded even for
  // the system clock so that a clock step (NTP, an administrator) is noticed.
  virtual std::chrono::milliseconds max_sleep() const = 0;
};

std::unique_ptr<Clock> NewSystemClock();

// Milliseconds of the monotonic clock: durations and rates, never instants.
inline int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
// Reads `path` on every Now(); falls back to the system clock while the file is missing
// or unreadable. Used only when the daemon is started with --test-clock-file.
std::unique_ptr<Clock> NewFileClock(std::string path);

// A clock that moves only when told to, for unit tests: the scheduler polls it every
// millisecond, so a test sets the time and sees a run fire at once.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(date::sys_seconds start) : now_(start.time_since_epoch().count()) {}
  date::sys_seconds Now() const override { return date::sys_seconds(std::chrono::seconds(now_.load())); }
  std::chrono::milliseconds max_sleep() const override { return std::chrono::milliseconds(1); }
  void Set(date::sys_seconds t) { now_ = t.time_since_epoch().count(); }
  void Advance(std::chrono::seconds by) { now_ += by.count(); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace keepsake
