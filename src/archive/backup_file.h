// Making and opening whole sealed backups: the pipelines
//   seal:   scanned trees -> tar -> zstd -> SealedWriter -> ByteSink
//   unseal: ByteSource -> SealedReader -> zstd -> tar -> (verify | staging directory)
// Streams all the way: memory is bounded by chunk and block sizes, not by backup size.
// Not thread-safe; each call owns its pipeline.
#pragma once

#include <string>

#include "archive/format.h"
#include "archive/sealed_reader.h"
#include "archive/tar_reader.h"
#include "archive/tar_writer.h"
#include "archive/unlock.h"
#include "archive/zstd_stream.h"

namespace keepsake::archive {

struct SealOptions {
  ZstdOptions zstd;
  uint32_t chunk_size = kDefaultChunkSize;  // plaintext bytes per encrypted chunk
};

// 32 random hex characters.
std::string NewBackupId();

// Seals `scan` into `out` (not finished: the caller commits or discards it). `header`
// carries backup_id, file_name, created_at and device; the rest is filled in here.
// Returns the header as written.
Result<BackupHeader> SealBackup(const TreeScan& scan, BackupHeader header, const crypto::DomainKeys& keys,
                                ByteSink& out, const SealOptions& options, const ProgressFn& progress = {});

// Verifies the whole backup and, when `target_dir` is not empty, extracts it there (an
// existing empty directory: a staging area that the caller moves into place only on OK).
// kCorruption, kUnauthenticated, kNotSupported as described in sealed_reader.h.
Result<UnpackResult> UnsealBackup(ByteSource& in, const Unlocker& unlocker, const std::string& target_dir);

// Writes the decrypted body (a plain .tar.zst) to `out`. The trailer is checked last, so
// the caller must discard `out` unless this returns OK.
Status DecryptBackup(ByteSource& in, const Unlocker& unlocker, ByteSink& out);

}  // namespace keepsake::archive
