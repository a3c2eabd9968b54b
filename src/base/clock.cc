#include "base/clock.h"

#include <fstream>

namespace keepsake {
namespace {

date::sys_seconds SystemNow() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

class SystemClock final : public Clock {
 public:
  date::sys_seconds Now() const override { return SystemNow(); }
  std::chrono::milliseconds max_sleep() const override { return std::chrono::seconds(30); }
};

class FileClock final : public Clock {
 public:
  explicit FileClock(std::string path) : path_(std::move(path)) {}
  date::sys_seconds Now() const override {
    std::ifstream in(path_);
    long long seconds = 0;
    if (in >> seconds) return date::sys_seconds(std::chrono::seconds(seconds));
    return SystemNow();
  }
  std::chrono::milliseconds max_sleep() const override { return std::chrono::milliseconds(50); }

 private:
  std::string path_;
};

}  // namespace

std::unique_ptr<Clock> NewSystemClock() { return std::make_unique<SystemClock>(); }
std::unique_ptr<Clock> NewFileClock(std::string path) { return std::make_unique<FileClock>(std::move(path)); }

}  // namespace keepsake
