// This device's last backup, kept in the state directory ("<state dir>/backup-chain.json",
// 0600, replaced atomically): the sequence number and header digest the next backup's
// header chains to (archive::BackupChain), and what the listings compare a backup of this
// device with, so that an old backup replayed under a new name is shown for what it is.
// Thread-safe as far as the file system is: one backup job at a time writes it.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "archive/header.h"
#include "base/status.h"

namespace keepsake::appliance {

struct ChainLink {
  uint64_t sequence = 0;  // 0: this device has made no backup with a sequence yet
  std::array<uint8_t, 32> header_sha256{};
  std::string created_at;  // of that backup (its header's)
  std::string file_name;
};

// The last backup recorded; a link with sequence 0 when there is none. kCorruption for a
// damaged file (naming it: delete it to start a new chain, the next backup says so).
Result<ChainLink> LoadLastBackup(const std::string& state_dir);

// The chain a new backup's header carries after `last`.
archive::BackupChain NextInChain(const ChainLink& last);

// Records `link` as the last backup unless a later one is recorded already.
Status RecordBackup(const std::string& state_dir, const ChainLink& link);

}  // namespace keepsake::appliance
