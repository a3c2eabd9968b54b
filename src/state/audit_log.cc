#include "state/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/utc_time.h"

namespace keepsake::state {

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return StatusFromErrno(errno, path);
  return std::unique_ptr<AuditLog>(new AuditLog(fd, path));
}

AuditLog::~AuditLog() { ::close(fd_); }

Status AuditLog::Append(int64_t unix_time, std::string_view event, const Actor& actor, std::string_view outcome,
                        const nlohmann::json& fields) {
  nlohmann::json line = {{"time", FormatUtc(unix_time)},
                         {"event", event},
                         {"account", actor.account},
                         {"client", actor.client},
                         {"outcome", outcome}};
  for (const auto& [key, value] : fields.items()) line[key] = value;
  // `replace` keeps a line valid JSON even if a file name carries invalid UTF-8.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mu_);
  // One write() with O_APPEND: lines never interleave, even across processes.
  ssize_t n = ::write(fd_, text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) return StatusFromErrno(n < 0 ? errno : EIO, path_);
  if (::fdatasync(fd_) != 0) return StatusFromErrno(errno, path_);
  return Status();
}

}  // namespace keepsake::state
