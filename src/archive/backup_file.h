// Making and opening whole sealed backups: the pipelines
//   seal v1:   scanned trees -> tar -> zstd -> SealedWriter -> ByteSink
//   seal v2:   scanned trees -> tar -> SealedWriter (a zstd frame per chunk, on every core)
//   unseal v1: ByteSource -> SealedReader -> zstd -> tar -> (verify | staging directory)
//   unseal v2: ByteSource -> SealedReader (each chunk opened and decompressed, on every
//              core) -> tar -> (verify | staging directory)
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
  // Plaintext bytes per encrypted chunk; 0: the format's default (v1 1 MiB, v2 4 MiB of tar).
  uint32_t chunk_size = 0;
};

// 32 random hex characters.
std::string NewBackupId();

// What the caller decides about a new backup. Everything else in its header follows from
// the data, the domain keys and the options.
struct NewBackup {
  std::string file_name;  // the name it is created under
  std::time_t created_at = 0;
  DeviceIdentity device;
  BackupChain chain;  // its place among the device's backups (sequence 0: none)
};

// The one place a backup header is filled in: a fresh backup id, `backup`, the components,
// the compression and chunking, the domain's public key, salt and KDF parameters, and the
// format: v2 when `keys` are a v2 appliance's (a device key), else v1. (SealedWriter adds
// only what it makes itself: the file key's wrapping, the stream header, the signer.)
BackupHeader MakeHeader(const NewBackup& backup, std::vector<ComponentSummary> components,
                        const crypto::DomainKeys& keys, const SealOptions& options);

// Seals `scan` into `out` (not finished: the caller commits or discards it). Returns the
// header as written, with its signed bytes and their digest (the next backup's
// `chain.previous_header_sha256`).
Result<SealedHeader> SealBackup(const TreeScan& scan, const NewBackup& backup, const crypto::DomainKeys& keys,
                                ByteSink& out, const SealOptions& options, const ProgressFn& progress = {});

// What UnsealBackup verified: the header it read (the one the body's chunks and trailer are
// bound to, so the only header any decision about the backup may use) and the content.
struct UnsealedBackup {
  BackupHeader header;
  UnpackResult contents;
};

// Verifies the whole backup and, when `target_dir` is not empty, extracts it there (an
// existing empty directory: a staging area that the caller moves into place only on OK).
// The file is read once, from its start. kCorruption, kUnauthenticated, kNotSupported as
// described in sealed_reader.h; kCorruption also when the header's component list (names,
// file counts, bytes) is not the body's manifest.
Result<UnsealedBackup> UnsealBackup(ByteSource& in, const Unlocker& unlocker, const std::string& target_dir);

// The same for a caller that read the header itself, to decide on it before the body is
// read (a restore checks firmware, components and space first): `in` is where
// ReadSealedHeader left it, and `header` is what it returned.
Result<UnpackResult> UnsealBody(ByteSource& in, const SealedHeader& header, const Unlocker& unlocker,
                                const std::string& target_dir);

// Writes the decrypted body (a plain .tar.zst: v1 one zstd frame, v2 one per chunk) to `out`. The trailer is checked
// last, so the caller must discard `out` unless this returns OK.
Status DecryptBackup(ByteSource& in, const Unlocker& unlocker, ByteSink& out);

}  // namespace keepsake::archive
