// Writing the scanned trees as a pax tar stream into a ByteSink (libarchive), hashing every
// file on the way and ending with the manifest member. Files are read in fixed-size blocks:
// memory does not grow with file size. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>

#include "archive/manifest.h"
#include "archive/tree_scan.h"
#include "base/byte_stream.h"

namespace keepsake::archive {

// Called after each block of file data with the bytes of file content written so far;
// returning false stops the backup (WriteTar returns kCancelled). Checked per block read,
// not per block written, so even data that compresses to nothing stops promptly.
using ProgressFn = std::function<bool(uint64_t bytes_done)>;

// Writes `scan` as tar to `out` (not finished), then the manifest built from it and from
// `manifest` (backup id, device). kFailedPrecondition when a file changed size while it
// was read (a live file outside a snapshot); kCancelled when `progress` said stop; file
// system errors as they come.
Status WriteTar(const TreeScan& scan, Manifest manifest, ByteSink& out, const ProgressFn& progress = {});

}  // namespace keepsake::archive
