#include "service/retention_runner.h"

#include "archive/sealed_reader.h"
#include "base/log.h"

namespace keepsake::service {

Result<std::vector<std::string>> BackendRetentionStore::List() {
  ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, backend_.List(""));
  std::vector<std::string> names;
  for (const auto& e : entries) {
    if (!e.is_dir) names.push_back(e.name);
  }
  return names;
}

Result<archive::BackupHeader> BackendRetentionStore::ReadHeader(const std::string& name) {
  ASSIGN_OR_RETURN(auto reader, backend_.NewReader(name));
  storage::ReaderSource source(std::move(reader));
  ASSIGN_OR_RETURN(archive::SealedHeader sealed, archive::ReadSealedHeader(source));
  return std::move(sealed.header);
}

Status BackendRetentionStore::Remove(const std::string& name) { return backend_.Remove(name); }

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
  auto candidates = RetentionCandidates(*names, device.hostname, prefix);
  for (const std::string& name : SelectForRemoval(candidates, policy, zone)) {
    if (name == keep_name) continue;
    // The name says this device; the signed header must say so too before a file goes.
    auto header = store.ReadHeader(name);
    if (!header.ok() && header.status().code() != ErrorCode::kCorruption) {
      out.problems.push_back(header.status().message());  // unreadable now: kept, and said so
      continue;
    }
    if (!header.ok() || header->device.device_id != device.device_id) {
      log::info("retention: keeping {}: not a backup of this device", name);
      continue;
    }
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
