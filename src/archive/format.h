// Constants of the sealed backup file. docs/FORMAT.md is the authority; this is the grammar
// of format v1 in short (all integers little-endian); v2 (§12) keeps the framing and
// changes what is inside it, see the end of this comment:
//
//   file    = prefix header header_sig chunk+ trailer
//   prefix  = "KSBACKUP" version:u16(=1) reserved:u16(=0) header_len:u32     (16 bytes)
//   header  = header_len bytes of JSON (the Backup Details), 1 <= header_len <= 1 MiB
//   header_sig = Ed25519(domain key, prefix || header)                        (64 bytes)
//   chunk   = len:u32 secretstream_ciphertext[len], 17 <= len <= chunk_size + 17,
//             AD = SHA-256(prefix || header); the last chunk, and only it, is FINAL
//   trailer = "KSTRAILR" chunk_count:u64 body_len:u64 file_hash[32] trailer_sig[64]
//             file_hash = SHA-256(every byte before the trailer)
//             trailer_sig = Ed25519(domain key, the trailer's first 56 bytes)
//
// The secretstream plaintext is one zstd frame whose content is a pax tar stream; its last
// member is the manifest (kManifestName).
//
// Format v2: header_sig and trailer_sig by the device key the header's certificate names;
//   chunk = len:u32 XChaCha20-Poly1305(file key, nonce(index, last), one zstd frame of at
//           most chunk_size tar bytes, AD = SHA-256(prefix || header)),
//           16 <= len <= ZSTD_COMPRESSBOUND(chunk_size) + 16; every chunk but the last holds
//           exactly chunk_size tar bytes
//   trailer's hash field = chunk tree root = SHA-256("keepsake-chunk-tree-v2" ||
//           SHA-256(prefix || header) || SHA-256(chunk 0 ciphertext) || ... )
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keepsake::archive {

inline constexpr std::string_view kMagic = "KSBACKUP";
inline constexpr std::string_view kTrailerMagic = "KSTRAILR";
inline constexpr uint16_t kFormatV1 = 1;
inline constexpr uint16_t kFormatV2 = 2;
inline constexpr uint16_t kNewestFormat = kFormatV2;
inline constexpr size_t kPrefixSize = 16;
inline constexpr size_t kMaxHeaderSize = 1 << 20;
inline constexpr size_t kMaxHeaderDepth = 8;    // objects and arrays; a header needs 3
inline constexpr size_t kMaxManifestDepth = 8;  // a manifest needs 5
inline constexpr size_t kChunkLengthSize = 4;
inline constexpr size_t kTrailerSignedSize = 8 + 8 + 8 + 32;
inline constexpr size_t kTrailerSize = kTrailerSignedSize + 64;
inline constexpr size_t kDefaultChunkSize = 1 << 20;       // v1
inline constexpr size_t kDefaultFrameChunkSize = 4 << 20;  // v2: tar bytes per chunk and zstd frame
inline constexpr size_t kMinChunkSize = 1 << 10;
inline constexpr size_t kMaxChunkSize = 1 << 24;  // bounds reader memory whatever a header says
inline constexpr std::string_view kChunkTreeContext = "keepsake-chunk-tree-v2";
inline constexpr std::string_view kManifestName = ".keepsake-manifest.json";
inline constexpr std::string_view kBackupExtension = ".ksb";

}  // namespace keepsake::archive
