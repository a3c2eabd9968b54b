#include "state/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <deque>
#include <fstream>

#include "base/log.h"
#include "base/strings.h"
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

void AuditLog::Record(date::sys_seconds when, std::string_view event, const Actor& actor, std::string_view outcome,
                      const nlohmann::json& fields) {
  Status st = Append(when.time_since_epoch().count(), event, actor, outcome, fields);
  if (!st.ok()) log::error("audit log: {}", st.message());
}

Result<AuditPage> AuditLog::Read(int limit, int64_t offset, std::string_view filter) const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return StatusFromErrno(errno, path_);
  const std::string wanted = Lower(filter);
  const size_t keep = static_cast<size_t>(offset) + static_cast<size_t>(limit);
  std::deque<std::string> newest;  // the last `keep` matching lines, oldest first
  AuditPage page;
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline yet: a line still being written
    if (!wanted.empty() && Lower(line).find(wanted) == std::string::npos) continue;
    ++page.matched;
    newest.push_back(std::move(line));
    if (newest.size() > keep) newest.pop_front();
  }
  int64_t skip = offset;
  for (auto it = newest.rbegin(); it != newest.rend() && static_cast<int>(page.entries.size()) < limit; ++it) {
    if (skip > 0) {
      --skip;
      continue;
    }
    nlohmann::json entry = nlohmann::json::parse(*it, nullptr, false);
    if (entry.is_object()) page.entries.push_back(std::move(entry));
  }
  return page;
}

}  // namespace keepsake::state
