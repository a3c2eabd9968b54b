// The domain's revocation list (format v2): device keys that no appliance of the domain
// trusts any longer for backups made from a given time on. Signed by the domain key, so it
// can be made only with the DMS typed, and carried to every appliance over any channel
// (docs/FORMAT.md §12.4).
//
// File "<state dir>/revocations.json", mode 0600, replaced atomically and only by a list of
// a higher serial:
//   {"list": "<the list's JSON text>", "signature": base64(Ed25519(domain key,
//    "keepsake-revocation-list-v2\n" || the list's JSON text))}
// The list's text is signed as stored, so no canonical form is needed to check it.
// Stateless and thread-safe.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "crypto/domain_keys.h"

namespace keepsake::crypto {

struct RevokedDevice {
  std::string device_id;
  PublicKey device_public_key{};
  std::string refuse_from;  // UTC: backups this key signed with a header time from then on are refused
};

struct RevocationList {
  PublicKey domain_public_key{};
  uint64_t serial = 0;  // 0: the empty list an appliance starts with
  std::string issued_at;
  std::vector<RevokedDevice> revoked;

  const RevokedDevice* Find(const PublicKey& device_public_key) const;
};

std::string RevocationsPath(const std::string& state_dir);

// The file text of `list`, signed by `domain` (which must hold the domain's secret key).
std::string SignRevocationList(const DomainKeys& domain, const RevocationList& list);

// Checks the signature under `domain_public_key` and reads the list. kUnauthenticated when
// it is not this domain's, kCorruption when damaged.
Result<RevocationList> ParseRevocationList(std::string_view text, const PublicKey& domain_public_key);

// This appliance's list; an empty one (serial 0) when it has none.
Result<RevocationList> LoadRevocations(const std::string& state_dir, const PublicKey& domain_public_key);

// Installs `text` (checked as ParseRevocationList does) when its serial is higher than the
// installed list's. kFailedPrecondition when it is not newer.
Result<RevocationList> InstallRevocations(const std::string& state_dir, std::string_view text,
                                          const PublicKey& domain_public_key);

// kUnauthenticated when `list` revokes `cert`'s key for a backup made at `created_at`.
Status CheckNotRevoked(const RevocationList& list, const DeviceCertificate& cert, std::string_view created_at);

}  // namespace keepsake::crypto
