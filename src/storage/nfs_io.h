// Internal to the NFS backend: the Writer and Reader of one NFS file. Writes go out as
// pipelined WRITEs of kMaxWrite bytes (libnfs 4.0 cannot encode more); reads are
// asynchronous so that the server's length is checked before anything is copied. Both
// borrow the backend's Session, which must outlive them. Not for use outside storage/.
#pragma once

#include <memory>
#include <string>

#include "storage/backend.h"
#include "storage/nfs_session.h"

namespace keepsake::storage::nfs {

// A writer of the open file `fh` (the partial `partial`), published as `final_path` on
// Commit(); `url` names it in messages.
std::unique_ptr<Writer> NewNfsWriter(const Session& session, nfsfh* fh, std::string partial, std::string final_path,
                                     std::string url);
// A reader of the open file `fh` from byte `offset`.
std::unique_ptr<Reader> NewNfsReader(const Session& session, nfsfh* fh, uint64_t offset, std::string url);

}  // namespace keepsake::storage::nfs
