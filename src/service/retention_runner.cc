#include "service/retention_runner.h"

#include <fmt/format.h>

#include "base/log.h"
#include "base/strings.h"
#include "base/utc_time.h"

namespace keepsake::service {

Result<std::vector<std::string>> BackendRetentionStore::List() {
  ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, backend_.List(""));
  std::vector<std::string> names;
  listed_.clear();
  for (auto& e : entries) {
    if (e.is_dir) continue;
    names.push_back(e.name);
    listed_.emplace(e.name, std::move(e));
  }
  return names;
}

Result<BackupDetails> BackendRetentionStore::Read(const std::string& name) {
  auto it = listed_.find(name);
  if (it == listed_.end()) return Status::NotFound(fmt::format("{}: not in the storage's listing", Printable(name)));
  return read_(it->second);
}

Status BackendRetentionStore::Remove(const std::string& name) { return backend_.Remove(name); }

namespace {

// Why a file named like one of this device's backups is not counted as one ("" when it is).
std::string NotCounted(const BackupDetails& d, const archive::DeviceIdentity& device, const std::string& name) {
  if (d.trust == DomainTrust::kRevokedSigner) return "its signer's key was revoked: " + d.trust_note;
  if (d.trust != DomainTrust::kThisDomain) return "it is not signed by this appliance's domain";
  if (!d.integrity.intact) return "it is damaged: " + d.integrity.damage;
  if (d.header.device.device_id != device.device_id) return "another device made it";
  if (d.header.file_name != name) return "its header names it '" + d.header.file_name + "': a renamed or copied file";
  return "";
}

}  // namespace

RetentionOutcome ApplyRetention(RetentionStore& store, const RetentionPolicy& policy, const date::time_zone& zone,
                                const archive::DeviceIdentity& device, std::string_view prefix,
                                std::string_view keep_name) {
  RetentionOutcome out;
  if (policy == RetentionPolicy{}) return out;  // keeps everything
  auto names = store.List();
  if (!names.ok()) {
    out.problems.push_back("retention not applied: " + names.status().message());
    return out;
  }
  // The names pick the series; what counts, and in which order, comes from each file.
  std::vector<BackupCandidate> verified;
  for (BackupCandidate& candidate : RetentionCandidates(*names, device.hostname, prefix)) {
    auto details = store.Read(candidate.name);
    if (!details.ok()) {
      if (details.status().code() == ErrorCode::kCorruption) {
        log::info("retention: not counting {}: {}", Printable(candidate.name), details.status().message());
      } else {
        out.problems.push_back(details.status().message());  // unreadable now: kept, and said so
      }
      continue;
    }
    if (std::string why = NotCounted(*details, device, candidate.name); !why.empty()) {
      log::info("retention: not counting {}: {}", Printable(candidate.name), Printable(why));
      continue;
    }
    candidate.created = *ParseUtc(details->header.created_at);
    verified.push_back(std::move(candidate));
  }
  for (const std::string& name : SelectForRemoval(std::move(verified), policy, zone)) {
    if (name == keep_name) continue;
    Status st = store.Remove(name);
    if (st.ok()) {
      out.removed.push_back(name);
    } else {
      out.problems.push_back(st.message());
    }
  }
  return out;
}

}  // namespace keepsake::service
