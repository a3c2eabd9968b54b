#include "archive/backup_file.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <optional>

#include "archive/sealed_writer.h"
#include "base/encoding.h"
#include "base/threaded_stream.h"
#include "base/utc_time.h"

namespace keepsake::archive {

std::string NewBackupId() {
  uint8_t id[16];
  randombytes_buf(id, sizeof id);
  return ToHex(id);
}

BackupHeader MakeHeader(const NewBackup& backup, std::vector<ComponentSummary> components,
                        const crypto::DomainKeys& keys, const SealOptions& options) {
  BackupHeader header;
  header.backup_id = NewBackupId();
  header.file_name = backup.file_name;
  header.created_at = FormatUtc(backup.created_at);
  header.device = backup.device;
  header.chain = backup.chain;
  header.components = std::move(components);
  header.format_version = keys.device ? kFormatV2 : kFormatV1;
  header.compression_level = options.zstd.level;
  header.chunk_size = options.chunk_size != 0 ? options.chunk_size
                      : header.is_v2()        ? kDefaultFrameChunkSize
                                              : kDefaultChunkSize;
  header.domain_public_key = keys.public_key;
  header.domain_salt = keys.salt;
  header.kdf = keys.kdf;
  return header;
}

Result<SealedHeader> SealBackup(const TreeScan& scan, const NewBackup& backup, const crypto::DomainKeys& keys,
                                ByteSink& out, const SealOptions& options, const ProgressFn& progress) {
  if (options.zstd.level < 1 || options.zstd.level > 19) {
    return Status::InvalidArgument(fmt::format("zstd level {} is outside 1..19", options.zstd.level));
  }
  BackupHeader header = MakeHeader(backup, scan.components, keys, options);
  Manifest manifest;
  manifest.backup_id = header.backup_id;
  manifest.device = header.device;
  if (header.chunk_size < kMinChunkSize || header.chunk_size > kMaxChunkSize) {
    return Status::InvalidArgument(
        fmt::format("chunk size {} is outside {}..{}", header.chunk_size, kMinChunkSize, kMaxChunkSize));
  }
  const bool v2 = header.is_v2();
  ASSIGN_OR_RETURN(auto sealer, SealedWriter::Start(std::move(header), keys, out));
  if (v2) {
    // Two stages on two threads: reading, hashing and tarring the sources; compressing each
    // chunk into its own frame, encrypting, hashing and writing.
    ThreadedSink seal(*sealer);
    RETURN_IF_ERROR(WriteTar(scan, std::move(manifest), seal, progress));
    RETURN_IF_ERROR(seal.Finish());  // seals the last chunk and writes the trailer
  } else {
    // Three stages overlap: reading, hashing and tarring the sources (this thread), feeding
    // zstd (whose own workers compress), and encrypting, hashing and writing. The encrypt
    // stage has its own thread so that it never waits while zstd waits for a job slot.
    ThreadedSink encrypt(*sealer);
    ASSIGN_OR_RETURN(auto zstd, ZstdCompressSink::Create(encrypt, options.zstd));
    ThreadedSink compress(*zstd);
    RETURN_IF_ERROR(WriteTar(scan, std::move(manifest), compress, progress));
    RETURN_IF_ERROR(compress.Finish());  // ends the zstd frame
    RETURN_IF_ERROR(encrypt.Finish());   // seals the final chunk and writes the trailer
  }
  return sealer->sealed_header();
}

namespace {

constexpr uint64_t kMaxAfterTar = 1 << 20;

// The header is written before the body and signed apart from it: a restore that swaps in
// the components the header names must find each of them, whole, in the body's manifest.
Status CheckHeaderMatchesManifest(const BackupHeader& header, const Manifest& manifest) {
  for (const ComponentSummary& c : header.components) {
    auto it = std::find_if(manifest.components.begin(), manifest.components.end(),
                           [&](const ManifestComponent& m) { return m.name == c.name; });
    if (it == manifest.components.end()) {
      return Status::Corruption(
          fmt::format("the header lists a component '{}' that the body does not hold; the file is not what "
                      "its header says",
                      c.name));
    }
    uint64_t files = 0, bytes = 0;
    for (const ManifestEntry& e : it->entries) {
      if (e.type != EntryType::kFile) continue;
      files += 1;
      bytes += e.size;
    }
    if (files != c.files || bytes != c.bytes) {
      return Status::Corruption(
          fmt::format("component '{}': the header says {} files and {} bytes, the body holds {} files and {} bytes",
                      c.name, c.files, c.bytes, files, bytes));
    }
  }
  if (manifest.components.size() != header.components.size()) {
    return Status::Corruption("the body holds a component that the header does not list");
  }
  return Status();
}

}  // namespace

Result<UnpackResult> UnsealBody(ByteSource& in, const SealedHeader& header, const Unlocker& unlocker,
                                const std::string& target_dir) {
  ASSIGN_OR_RETURN(SecureBuffer file_key, UnlockFileKey(header.header, unlocker));
  // v1: three stages on three threads: read + hash + decrypt, decompress, unpack + digest.
  // v2: two, as each chunk decompresses on its own: read + hash + open + decompress, unpack.
  SealedReader body(in, header, file_key, BodyLayer::kTar);
  ThreadedSource decrypted(body);
  std::optional<ZstdDecompressSource> decompressor;
  std::optional<ThreadedSource> decompressed;
  if (!YieldsTar(header.header, BodyLayer::kTar)) {
    decompressor.emplace(decrypted);
    decompressed.emplace(*decompressor);
  }
  ByteSource& plain = decompressed ? static_cast<ByteSource&>(*decompressed) : decrypted;
  UnpackLimits limits;
  limits.max_files = 0;
  for (const ComponentSummary& c : header.header.components) limits.max_files += c.files;
  limits.max_file_bytes = header.header.InputBytes();
  ASSIGN_OR_RETURN(UnpackResult result, UnpackTar(plain, target_dir, limits));
  // The tar ends before the zstd frame and the sealed body do: drain both, so that the
  // trailer is checked and nothing was appended. What follows a tar's end is padding to
  // its record size (at most 10 KiB); more is refused rather than decompressed forever.
  std::byte rest[4096];
  uint64_t after_tar = 0;
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, plain.Read(rest));
    if (n == 0) break;
    after_tar += n;
    if (after_tar > kMaxAfterTar) {
      return Status::Corruption("unexpected data after the end of the tar stream");
    }
  }
  RETURN_IF_ERROR(CheckHeaderMatchesManifest(header.header, result.manifest));
  return result;
}

Result<UnsealedBackup> UnsealBackup(ByteSource& in, const Unlocker& unlocker, const std::string& target_dir) {
  ASSIGN_OR_RETURN(SealedHeader header, ReadSealedHeader(in));
  ASSIGN_OR_RETURN(UnpackResult contents, UnsealBody(in, header, unlocker, target_dir));
  return UnsealedBackup{std::move(header.header), std::move(contents)};
}

Status DecryptBackup(ByteSource& in, const Unlocker& unlocker, ByteSink& out) {
  ASSIGN_OR_RETURN(SealedHeader header, ReadSealedHeader(in));
  ASSIGN_OR_RETURN(SecureBuffer file_key, UnlockFileKey(header.header, unlocker));
  SealedReader body(in, header, file_key);
  std::vector<std::byte> buf(256 * 1024);
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, body.Read(buf));
    if (n == 0) break;
    RETURN_IF_ERROR(out.Write(std::span(buf.data(), n)));
  }
  return out.Finish();
}

}  // namespace keepsake::archive
