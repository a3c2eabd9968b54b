#include "web/api_json.h"

#include <fmt/format.h>

#include <cmath>

#include "archive/backup_name.h"
#include "base/strings.h"
#include "base/utc_time.h"
#include "service/readiness.h"
#include "web/human_time.h"

namespace keepsake::web {
namespace {

template <typename T, typename F>
nlohmann::json OrNull(const std::optional<T>& v, F&& f) {
  return v ? nlohmann::json(f(*v)) : nlohmann::json(nullptr);
}

}  // namespace

std::string IsoTime(date::sys_seconds t) { return FormatUtc(t); }

std::string_view JobPhaseName(service::JobPhase phase) {
  switch (phase) {
    case service::JobPhase::kIdle:
      return "idle";
    case service::JobPhase::kPreparing:
      return "preparing";
    case service::JobPhase::kWriting:
      return "writing";
    case service::JobPhase::kCommitting:
      return "committing";
    case service::JobPhase::kRetention:
      return "retention";
    case service::JobPhase::kApplying:
      return "applying";
  }
  return "unknown";
}

std::string_view ServiceStateText(service::ServiceState state) {
  switch (state) {
    case service::ServiceState::kIdle:
      return "NOT RUNNING";
    case service::ServiceState::kBackupRunning:
      return "BACKUP IN PROGRESS";
    case service::ServiceState::kRestoreRunning:
      return "RESTORE IN PROGRESS";
  }
  return "NOT RUNNING";
}

nlohmann::json JobToJson(const state::JobRecord& job) {
  return {{"id", job.id},
          {"kind", state::JobKindName(job.kind)},
          {"trigger", state::JobTriggerName(job.trigger)},
          {"requester", job.requester},
          {"started_at", IsoTime(job.started_at)},
          {"ended_at", OrNull(job.ended_at, IsoTime)},
          {"result", state::JobResultName(job.result)},
          {"size", OrNull(job.size, [](uint64_t v) { return v; })},
          {"duration_ms", OrNull(job.duration_ms, [](int64_t v) { return v; })},
          {"file", job.file},
          {"error", job.error},
          {"summary", job.summary}};
}

namespace {

nlohmann::json RunningJobToJson(const service::RunningJob& r) {
  nlohmann::json j = {{"id", r.job.id},
                      {"kind", state::JobKindName(r.job.kind)},
                      {"trigger", state::JobTriggerName(r.job.trigger)},
                      {"started_at", IsoTime(r.job.started_at)},
                      {"phase", JobPhaseName(r.phase)},
                      {"bytes_done", r.bytes_done},
                      {"bytes_total", r.bytes_total}};
  j["percent"] = r.bytes_total ? nlohmann::json(std::min<uint64_t>(100, r.bytes_done * 100 / r.bytes_total))
                               : nlohmann::json(nullptr);
  j["eta_seconds"] = OrNull(r.eta_seconds, [](int64_t v) { return v; });
  return j;
}

std::vector<std::string> Messages(const std::vector<Status>& statuses) {
  std::vector<std::string> out;
  for (const Status& s : statuses) out.push_back(s.message());
  return out;
}

}  // namespace

nlohmann::json StatusToJson(const service::ServiceStatus& s) {
  nlohmann::json j;
  j["state"] = ServiceStateText(s.state);
  j["job"] = s.running ? RunningJobToJson(*s.running) : nlohmann::json(nullptr);
  if (s.last_success) {
    date::sys_seconds t = s.last_success->ended_at.value_or(s.last_success->started_at);
    j["last_successful_backup"] = {{"time", IsoTime(t)},
                                   {"ago", HumanAgo(t, s.now)},
                                   {"file", s.last_success->file},
                                   {"size", s.last_success->size.value_or(0)}};
  } else {
    j["last_successful_backup"] = nullptr;
  }
  if (s.last_failure) {
    j["last_failure"] = {{"time", IsoTime(s.last_failure->ended_at.value_or(s.last_failure->started_at))},
                         {"error", s.last_failure->error}};
  }
  std::vector<std::string> blockers = Messages(s.blockers);
  std::vector<std::string> reasons = blockers;
  if (!s.schedule_set) reasons.insert(reasons.begin(), "No automated backup schedule is set.");
  if (s.next_run && reasons.empty()) {
    j["next_scheduled_backup"] = {{"time", IsoTime(*s.next_run)},
                                  {"local", FormatLocal(*s.next_run, *s.schedule_zone)},
                                  {"in", HumanIn(*s.next_run, s.now)}};
  } else {
    j["next_scheduled_backup"] = nullptr;
    if (!s.next_run && reasons.empty()) reasons.push_back("The schedule has no future run time.");
  }
  j["schedule_disabled"] = !reasons.empty();
  j["schedule_disabled_reasons"] = reasons;
  j["backup_blockers"] = blockers;
  std::vector<std::string> warnings;
  if (s.capacity) {
    if (std::string w = LowSpaceWarning(*s.capacity); !w.empty()) warnings.push_back(w);
    j["storage"] = CapacityToJson(*s.capacity);
    if (s.access) j["storage"]["permission"] = PermissionText(*s.access);
  } else {
    j["storage"] = nullptr;
  }
  if (std::string w = RollbackSpaceWarning(s.appliance_disk, s.rollback_point_bytes); !w.empty()) {
    warnings.push_back(w);
  }
  j["warnings"] = warnings;
  return j;
}

nlohmann::json RestoreStatusToJson(const service::ServiceStatus& s, const std::vector<state::JobRecord>& last) {
  bool running = s.state == service::ServiceState::kRestoreRunning;
  return {{"state", ServiceStateText(s.state)},
          {"progress", running && s.running ? RunningJobToJson(*s.running) : nlohmann::json(nullptr)},
          {"last", last.empty() ? nlohmann::json(nullptr) : JobToJson(last.front())}};
}

std::string MetricsText(const service::ServiceStatus& s) {
  std::string out;
  auto gauge = [&out](std::string_view name, std::string_view help, std::string_view type, double value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
  };
  const auto& last = s.last_success;
  gauge("keepsake_last_success_timestamp_seconds", "Unix time the last successful backup finished (0: never).", "gauge",
        last && last->ended_at ? static_cast<double>(last->ended_at->time_since_epoch().count()) : 0);
  gauge("keepsake_last_backup_duration_seconds", "Duration of the last successful backup.", "gauge",
        last ? last->duration_ms.value_or(0) / 1000.0 : 0);
  gauge("keepsake_last_backup_size_bytes", "Size of the last successful backup file.", "gauge",
        last ? static_cast<double>(last->size.value_or(0)) : 0);
  gauge("keepsake_backup_failures_total", "Backups that failed or were interrupted.", "counter",
        static_cast<double>(s.failures_total));
  gauge("keepsake_backup_in_progress", "1 while a backup runs.", "gauge",
        s.state == service::ServiceState::kBackupRunning);
  gauge("keepsake_restore_in_progress", "1 while a restore runs.", "gauge",
        s.state == service::ServiceState::kRestoreRunning);
  gauge("keepsake_schedule_disabled", "1 when no scheduled backup will run.", "gauge",
        !s.next_run || !s.blockers.empty());
  return out;
}

std::string PermissionText(const storage::Access& access) {
  if (access.can_write && access.can_read) return "read/write";
  if (access.can_read) return "read-only";
  if (access.can_write) return "write-only";
  return "none";
}

std::string LowSpaceWarning(const storage::Capacity& c) {
  if (!service::LowOnSpace(c)) return "";
  return fmt::format("Less than 20% of the backup storage is free: {} of {}.", HumanBytes(c.free), HumanBytes(c.total));
}

std::string StatusEvent(const service::ServiceStatus& status) {
  return fmt::format("retry: 2000\nevent: status\ndata: {}\n\n", StatusToJson(status).dump());
}

std::string RollbackSpaceWarning(const std::optional<storage::Capacity>& disk, uint64_t rollback_point_bytes) {
  if (!disk || rollback_point_bytes == 0 || !service::LowOnSpace(*disk)) return "";
  return fmt::format(
      "The appliance's own disk is low: {} of {} free, and the rollback point of the last restore holds {} of it. "
      "Discard the rollback point on the Restore page once the restored state is known to be good.",
      HumanBytes(disk->free), HumanBytes(disk->total), HumanBytes(rollback_point_bytes));
}

nlohmann::json CapacityToJson(const storage::Capacity& c) {
  double percent = c.total == 0 ? 0.0 : 100.0 * static_cast<double>(c.free) / static_cast<double>(c.total);
  std::string warning = LowSpaceWarning(c);
  return {{"total_bytes", c.total},
          {"used_bytes", c.used},
          {"free_bytes", c.free},
          {"total", HumanBytes(c.total)},
          {"used", HumanBytes(c.used)},
          {"free", HumanBytes(c.free)},
          {"free_percent", std::round(percent * 10) / 10},
          {"low_space", !warning.empty()},
          {"warning", warning.empty() ? nlohmann::json(nullptr) : nlohmann::json(warning)}};
}

nlohmann::json StorageInfoToJson(const service::StorageInfo& info) {
  nlohmann::json j = CapacityToJson(info.capacity);
  j["url"] = info.url;
  j["path"] = info.path;
  j["permission"] = PermissionText(info.access);
  j["can_read"] = info.access.can_read;
  j["can_write"] = info.access.can_write;
  return j;
}

nlohmann::json StorageListingToJson(const service::StorageListing& listing) {
  nlohmann::json list = nlohmann::json::array();
  for (const storage::Entry& e : listing.entries) {
    list.push_back({{"name", e.name},
                    {"type", e.is_dir ? "directory" : "file"},
                    {"size", e.size},
                    {"size_human", HumanBytes(e.size)},
                    {"modified", IsoTime(date::sys_seconds(std::chrono::seconds(e.mtime)))},
                    {"backup", !e.is_dir && archive::ParseBackupName(e.name).has_value()}});
  }
  return {{"url", listing.info.url},
          {"path", listing.info.path},
          {"parent", OrNull(listing.parent, [](const std::string& p) { return p; })},
          {"entries", std::move(list)},
          {"info", StorageInfoToJson(listing.info)}};
}

nlohmann::json UsbDrivesToJson(const std::vector<storage::UsbDrive>& drives) {
  nlohmann::json list = nlohmann::json::array();
  for (const storage::UsbDrive& d : drives) {
    nlohmann::json volumes = nlohmann::json::array();
    for (const storage::UsbVolume& v : d.volumes) {
      volumes.push_back({{"number", v.number},
                         {"label", v.label},
                         {"uuid", v.uuid},
                         {"fs_type", v.fs_type},
                         {"size", v.size},
                         {"device", v.device},
                         {"mount_point", v.mount_point},
                         {"state", storage::UsbVolumeStateName(v.state)},
                         {"reason", v.reason},
                         {"url", OrNull(storage::OfferedUrl(v), [](const std::string& u) { return u; })},
                         {"capacity", CapacityToJson(v.capacity)}});
    }
    list.push_back({{"device", d.device},
                    {"vendor", d.vendor},
                    {"model", d.model},
                    {"size", d.size},
                    {"partition_table", d.partition_table},
                    {"supported", d.supported},
                    {"reason", d.reason},
                    {"volumes", std::move(volumes)}});
  }
  return {{"drives", std::move(list)}};
}

nlohmann::json BackupDetailsToJson(const service::BackupDetails& details) {
  nlohmann::json j = nlohmann::json::parse(archive::SerializeHeader(details.header));
  // The signature is valid under the key the header names: whose key that is, is half of
  // the verdict, so it is said in the same words.
  switch (details.trust) {
    case service::DomainTrust::kThisDomain:
      j["signature"] = "valid, this domain";
      j["domain_check"] = "this appliance's domain";
      break;
    case service::DomainTrust::kOtherDomain:
      j["signature"] = "valid, other domain";
      j["domain_check"] = "another domain";
      break;
    case service::DomainTrust::kUnknown:
      j["signature"] = "valid, domain not checked";
      j["domain_check"] = "unknown: this appliance has no Domain Master Secret";
      break;
    case service::DomainTrust::kRevokedSigner:
      j["signature"] = "valid, revoked device";
      j["domain_check"] = "this appliance's domain, by a revoked device key";
      j["revoked"] = details.trust_note;
      break;
  }
  const service::IntegrityVerdict& v = details.integrity;
  j["integrity"] = {{"state", v.intact ? "intact" : "damaged"}, {"checked_at", IsoTime(v.checked_at)}};
  if (!v.intact) j["integrity"]["reason"] = v.damage;
  if (details.newer_backup) {
    const appliance::ChainLink& newer = *details.newer_backup;
    j["superseded_by"] = {
        {"sequence", newer.sequence}, {"created_at", newer.created_at}, {"file_name", newer.file_name}};
  }
  return j;
}

nlohmann::json BackupListingToJson(const service::BackupListing& b) {
  nlohmann::json item = {{"name", b.entry.name},
                         {"size", b.entry.size},
                         {"size_human", HumanBytes(b.entry.size)},
                         {"created_at", IsoTime(b.created)}};
  if (b.details) {
    item["details"] = BackupDetailsToJson(*b.details);
    // A file whose signed header names another file: renamed, or an old backup replayed.
    item["name_matches_header"] = b.details->header.file_name == b.entry.name;
  } else {
    item["details"] = nullptr;
    item["error"] = b.error;
  }
  return item;
}

nlohmann::json BackupListToJson(const service::BackupList& list) {
  nlohmann::json backups = nlohmann::json::array();
  for (const service::BackupListing& b : list.backups) backups.push_back(BackupListingToJson(b));
  return {{"storage", list.url}, {"backups", std::move(backups)}};
}

nlohmann::json RollbackPointToJson(const std::optional<appliance::RollbackPointInfo>& point) {
  if (!point) return {{"rollback_point", nullptr}};
  return {{"rollback_point",
           {{"created_at", point->created_at},
            {"replaced_by", point->replaced_by},
            {"bytes", point->bytes},
            {"size", HumanBytes(point->bytes)}}}};
}

nlohmann::json AuditPageToJson(const state::AuditPage& page) {
  return {{"entries", page.entries}, {"matched", page.matched}};
}

nlohmann::json DmsToJson(const service::DmsState& dms) {
  if (!dms.set) return {{"set", false}};
  if (!dms.error.empty()) return {{"set", true}, {"error", dms.error}};
  nlohmann::json j = {{"set", true},
                      {"fingerprint", dms.fingerprint},
                      {"restore_key_kept", dms.restore_key_kept},
                      {"backup_format", dms.backup_format}};
  if (!dms.device_key.empty()) j["device_key"] = dms.device_key;
  return j;
}

nlohmann::json DmsStrengthToJson(const crypto::DmsStrength& strength, const Status& rules) {
  nlohmann::json j = {{"score", strength.score},
                      {"words", strength.words},
                      {"guesses_log2", static_cast<int>(strength.bits)},
                      {"acceptable", rules.ok()}};
  if (!rules.ok()) j["problem"] = rules.message();
  return j;
}

nlohmann::json ScheduleAnswerToJson(const service::Schedule& schedule, const std::vector<date::sys_seconds>& runs) {
  nlohmann::json j = service::ScheduleToJson(schedule);
  const date::time_zone* zone = &service::ZoneOrUtc(schedule.time_zone);
  nlohmann::json next = nlohmann::json::array();
  for (date::sys_seconds t : runs) {
    next.push_back({{"time", IsoTime(t)}, {"local", FormatLocal(t, *zone)}, {"unix", t.time_since_epoch().count()}});
  }
  j["next_runs"] = std::move(next);
  return j;
}

}  // namespace keepsake::web
