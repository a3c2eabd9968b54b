// The API's JSON and the administrator's wording, one producer per OpenAPI schema
// (docs/openapi.yaml): the routes use these, and the CLI where it prints the same thing
// (`keepsake inspect --json` prints BackupDetailsToJson). The engine hands over typed values;
// only here do they become JSON, ISO 8601 UTC times, human sizes and sentences.
// Pure functions: safe from any thread.
#pragma once

#include <date/tz.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/dms_text.h"
#include "service/backup_service.h"
#include "service/schedule.h"
#include "service/service_status.h"
#include "service/storage_browser.h"
#include "state/audit_log.h"
#include "state/job_record.h"
#include "storage/backend.h"
#include "storage/usb_drives.h"

namespace keepsake::web {

// Every time in the API: RFC 3339 UTC, "2026-11-26T09:00:00Z".
std::string IsoTime(date::sys_seconds t);

// "idle", "preparing", "writing", "committing", "retention", "applying".
std::string_view JobPhaseName(service::JobPhase phase);
// "NOT RUNNING", "BACKUP IN PROGRESS", "RESTORE IN PROGRESS": the Backup Status's words.
std::string_view ServiceStateText(service::ServiceState state);

// Schema Job.
nlohmann::json JobToJson(const state::JobRecord& job);
// Schema Status.
nlohmann::json StatusToJson(const service::ServiceStatus& status);
// Schema RestoreStatus: the running restore, if any, and the last one.
nlohmann::json RestoreStatusToJson(const service::ServiceStatus& status, const std::vector<state::JobRecord>& last);
// The Prometheus text exposition of the status (GET /metrics).
std::string MetricsText(const service::ServiceStatus& status);

// The space fields of schema StorageInfo (also the status's "storage" object).
nlohmann::json CapacityToJson(const storage::Capacity& capacity);
// "read/write", "read-only", "write-only" or "none".
std::string PermissionText(const storage::Access& access);
// The "Less than 20% ..." warning, or "" when there is enough free space.
std::string LowSpaceWarning(const storage::Capacity& capacity);
// The status as one server-sent event ("retry: 2000\nevent: status\ndata: {...}\n\n").
std::string StatusEvent(const service::ServiceStatus& status);
// "" unless the appliance's own disk is below 20% free while a rollback point holds space.
std::string RollbackSpaceWarning(const std::optional<storage::Capacity>& disk, uint64_t rollback_point_bytes);
// Schema StorageInfo.
nlohmann::json StorageInfoToJson(const service::StorageInfo& info);
// Schema StorageListing.
nlohmann::json StorageListingToJson(const service::StorageListing& listing);
// Schema UsbDrives.
nlohmann::json UsbDrivesToJson(const std::vector<storage::UsbDrive>& drives);

// Schema BackupDetails: the signed header, "signature": "valid" and the domain verdict.
nlohmann::json BackupDetailsToJson(const service::BackupDetails& details);
// Schema BackupList.
nlohmann::json BackupListToJson(const service::BackupList& list);
// One backup of a listing: name, size, created_at, details (null when unreadable) and error.
nlohmann::json BackupListingToJson(const service::BackupListing& b);

// Schema RollbackPoint: {"rollback_point": null | {created_at, replaced_by, bytes, size}}.
nlohmann::json RollbackPointToJson(const std::optional<appliance::RollbackPointInfo>& point);

// Schema AuditPage: {"entries": [...], "matched": N}.
nlohmann::json AuditPageToJson(const state::AuditPage& page);

// Schema Dms.
nlohmann::json DmsToJson(const service::DmsState& dms);
// {"score": 0-4, "words", "guesses_log2", "acceptable", "problem" (the rule a set would break)}.
nlohmann::json DmsStrengthToJson(const crypto::DmsStrength& strength, const Status& rules);
// Schema Schedule: the schedule and its next runs.
nlohmann::json ScheduleAnswerToJson(const service::Schedule& schedule, const std::vector<date::sys_seconds>& runs);

}  // namespace keepsake::web
