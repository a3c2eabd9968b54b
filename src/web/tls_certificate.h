// The daemon's HTTPS identity: the certificate and private key its server presents.
//
// An administrator may configure a pair (say, one issued by the site's CA); it is checked
// and used as it is. Without one, the daemon makes its own at first start and keeps it in
// "<state_dir>/tls/": an ECDSA P-256 key and a self-signed certificate valid for 10 years,
// named for the host name, "localhost", 127.0.0.1 and ::1. Clients trust it by loading
// cert.pem as their CA file, or by comparing its SHA-256 fingerprint, which the daemon prints
// when it makes a new one.
//
// Files in "<state_dir>/tls/" (a directory of mode 0700):
//   cert.pem   the certificate, PEM, mode 0644
//   key.pem    the private key, unencrypted PKCS#8 PEM, mode 0600 from its first byte on
//
// Thread-safety: the functions keep no state and may run concurrently, but not twice at
// once on the same state directory (the daemon holds its state lock when it calls them).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace keepsake::web {

// Where a certificate and its key live. Both empty: none configured.
struct TlsFiles {
  std::string cert_path;  // PEM; may hold intermediates after the server's certificate
  std::string key_path;   // PEM private key matching the first certificate; not encrypted
};

struct TlsIdentity {
  TlsFiles files;  // what the server should load
  // SHA-256 of the DER certificate as `openssl x509 -noout -fingerprint -sha256` prints it:
  // 32 upper-case hex bytes joined by ':'.
  std::string fingerprint_sha256;
  bool generated = false;  // made during this call: the caller shows the fingerprint
};

// The identity the daemon serves HTTPS with.
//
// With `configured` holding both paths, checks that the certificate and the key parse and
// belong together, and returns them (generated = false); nothing is written. Errors:
// kInvalidArgument when only one of the two paths is given, when a file does not parse
// ("<path>: not a PEM certificate: ..."), when the key is encrypted, or when it does not
// match ("<key>: private key does not match certificate <cert>"); kNotFound naming a missing
// file; kPermissionDenied when one cannot be read.
//
// With `configured` empty, uses "<state_dir>/tls/{cert,key}.pem". When both exist they are
// loaded and checked as above, except that a damaged or mismatched pair is kCorruption
// (the daemon writes them so that this cannot happen; see the .cc). When neither or only one
// exists, a new pair is made (generated = true) for the host name, "localhost", 127.0.0.1,
// ::1 and `extra_names` (each an IPv4/IPv6 address or a DNS name; kInvalidArgument for
// anything else). `state_dir` must exist (kNotFound); "tls/" is created with mode 0700.
// An existing pair is never regenerated, so a changed host name or new `extra_names` only
// take effect after the two files are removed.
Result<TlsIdentity> LoadOrCreateTlsIdentity(const std::string& state_dir, const TlsFiles& configured,
                                            const std::vector<std::string>& extra_names = {});

// The SHA-256 fingerprint (format above) of the first certificate in a PEM file.
// kNotFound, kPermissionDenied, kInvalidArgument if it holds no PEM certificate.
Result<std::string> CertificateFingerprint(const std::string& cert_pem_path);

}  // namespace keepsake::web
