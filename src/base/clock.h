// Where the daemon's scheduler gets the time. The system clock in production; for tests a
// clock read from a file ("<unix seconds>\n"), so that a test can move time forward by days
// and watch the schedule fire without waiting. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <date/date.h>

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
// Reads `path` on every Now(); falls back to the system clock while the file is missing
// or unreadable. Used only when the daemon is started with --test-clock-file.
std::unique_ptr<Clock> NewFileClock(std::string path);

}  // namespace keepsake
