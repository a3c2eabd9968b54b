#include "web/tls_certificate.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string_view>

#include "base/file_io.h"

namespace keepsake::web {
namespace {

// A certificate with a long chain is a few KiB; anything near this is not a PEM file.
constexpr size_t kMaxPemBytes = 1 << 20;
// Ten years and three leap days: the appliance outlives no certificate we make.
constexpr long kValidityDays = 3653;
// Clients whose clock runs behind the appliance's would otherwise refuse a fresh cert.
constexpr long kClockSkewSeconds = 3600;

struct OpenSslFree {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(ASN1_STRING* p) const { ASN1_STRING_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(GENERAL_NAME* p) const { GENERAL_NAME_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
template <typename T>
using OsslPtr = std::unique_ptr<T, OpenSslFree>;

// OpenSSL reports why in its thread-local error queue; the message carries all of it, oldest
// first, and leaves the queue empty for the next caller.
std::string DrainOpenSslErrors() {
  std::string out;
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

Status OpenSslFailure(std::string_view what) {
  return Status::Internal(fmt::format("{}: {}", what, DrainOpenSslErrors()));
}

// The key file's bytes are a secret: wipe this copy of them once parsed.
struct WipeOnExit {
  std::string& text;
  ~WipeOnExit() { OPENSSL_cleanse(text.data(), text.size()); }
};

// The default callback would prompt on the daemon's terminal for a passphrase; there is
// nobody to answer, so an encrypted key is refused instead.
int RefusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

Result<OsslPtr<X509>> ReadCertificate(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path, kMaxPemBytes));
  ERR_clear_error();
  OsslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslFailure(path);
  OsslPtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, RefusePassphrase, nullptr));
  if (!cert) {
    return Status::InvalidArgument(fmt::format("{}: not a PEM certificate: {}", path, DrainOpenSslErrors()));
  }
  return cert;
}

Result<OsslPtr<EVP_PKEY>> ReadPrivateKey(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path, kMaxPemBytes));
  WipeOnExit wipe{pem};
  if (pem.find("ENCRYPTED") != std::string::npos) {
    return Status::InvalidArgument(
        fmt::format("{}: the private key is encrypted; the daemon needs it without a passphrase", path));
  }
  ERR_clear_error();
  OsslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslFailure(path);
  OsslPtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassphrase, nullptr));
  if (!key) {
    return Status::InvalidArgument(fmt::format("{}: not a PEM private key: {}", path, DrainOpenSslErrors()));
  }
  return key;
}

Result<std::string> Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return OpenSslFailure("certificate fingerprint");
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    if (i > 0) out += ':';
    out += fmt::format("{:02X}", md[i]);
  }
  return out;
}

// Parses both files and checks that the key belongs to the (first) certificate; returns the
// certificate's fingerprint.
Result<std::string> CheckPair(const TlsFiles& files) {
  ASSIGN_OR_RETURN(OsslPtr<X509> cert, ReadCertificate(files.cert_path));
  ASSIGN_OR_RETURN(OsslPtr<EVP_PKEY> key, ReadPrivateKey(files.key_path));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();  // "key values mismatch" says nothing the message does not
    return Status::InvalidArgument(
        fmt::format("{}: private key does not match certificate {}", files.key_path, files.cert_path));
  }
  return Fingerprint(cert.get());
}

// A subjectAltName entry: an IP address (v4 or v6) or a DNS name.
struct SubjectName {
  int type;  // GEN_DNS or GEN_IPADD
  std::string text;
};

bool IsIpAddress(const std::string& s) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// Letters, digits, '-' and '_' in non-empty labels, optionally "*." in front. Anything else
// (spaces, commas, a URL) is a configuration mistake that would give a certificate no
// client can match.
bool IsDnsName(std::string_view s) {
  if (s.starts_with("*.")) s.remove_prefix(2);
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  std::string name(buf);
  return IsDnsName(name) ? name : "localhost";
}

bool SameName(const SubjectName& a, const SubjectName& b) {
  if (a.type != b.type) return false;
  if (a.type == GEN_DNS) {
    return a.text.size() == b.text.size() && strcasecmp(a.text.c_str(), b.text.c_str()) == 0;
  }
  // "::1" and "0:0::1" are the same address.
  OsslPtr<ASN1_STRING> x(a2i_IPADDRESS(a.text.c_str())), y(a2i_IPADDRESS(b.text.c_str()));
  return x && y && ASN1_STRING_cmp(x.get(), y.get()) == 0;
}

Result<std::vector<SubjectName>> SubjectNames(const std::string& host, const std::vector<std::string>& extra) {
  std::vector<SubjectName> names;
  auto add = [&names](SubjectName n) {
    for (const auto& have : names) {
      if (SameName(have, n)) return;
    }
    names.push_back(std::move(n));
  };
  add({GEN_DNS, host});
  add({GEN_DNS, "localhost"});
  add({GEN_IPADD, "127.0.0.1"});
  add({GEN_IPADD, "::1"});
  for (const auto& name : extra) {
    if (IsIpAddress(name)) {
      add({GEN_IPADD, name});
    } else if (IsDnsName(name)) {
      add({GEN_DNS, name});
    } else {
      return Status::InvalidArgument(
          fmt::format("\"{}\": not an IP address nor a DNS name for the TLS certificate", name));
    }
  }
  return names;
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  OsslPtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslFailure(fmt::format("certificate extension {} = {}", OBJ_nid2sn(nid), value));
  }
  return Status();
}

// The subjectAltName is built from GENERAL_NAMEs rather than from a "DNS:a,IP:b" string,
// where a name containing a comma could add entries of its own.
Status AddSubjectAltName(X509* cert, const std::vector<SubjectName>& names) {
  OsslPtr<GENERAL_NAMES> sans(sk_GENERAL_NAME_new_null());
  if (!sans) return OpenSslFailure("subjectAltName");
  for (const auto& n : names) {
    OsslPtr<GENERAL_NAME> gn(a2i_GENERAL_NAME(nullptr, nullptr, nullptr, n.type, n.text.c_str(), 0));
    if (!gn) return OpenSslFailure(fmt::format("subjectAltName {}", n.text));
    if (sk_GENERAL_NAME_push(sans.get(), gn.get()) <= 0) return OpenSslFailure("subjectAltName");
    gn.release();  // the stack owns it now
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, sans.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return OpenSslFailure("subjectAltName");
  }
  return Status();
}

struct NewPair {
  std::string cert_pem;
  OsslPtr<BIO> key_pem;  // secure-heap memory BIO; BIO_get_mem_data gives the bytes
};

Result<NewPair> MakeSelfSigned(const std::vector<std::string>& extra_names) {
  const std::string host = HostName();
  ASSIGN_OR_RETURN(std::vector<SubjectName> names, SubjectNames(host, extra_names));
  ERR_clear_error();

  OsslPtr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslFailure("generating the P-256 key");

  OsslPtr<X509> cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslFailure("new certificate");

  // RFC 5280 wants a positive serial of at most 20 octets; 128 random bits also keep two
  // certificates made on one appliance (after the files were removed) apart for clients
  // that cache by issuer and serial.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) return OpenSslFailure("certificate serial");
  OsslPtr<BIGNUM> serial_bn(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (serial_bn && BN_is_zero(serial_bn.get())) BN_one(serial_bn.get());  // zero is not allowed
  OsslPtr<ASN1_STRING> serial(serial_bn ? BN_to_ASN1_INTEGER(serial_bn.get(), nullptr) : nullptr);
  if (!serial || X509_set_serialNumber(cert.get(), serial.get()) != 1) return OpenSslFailure("certificate serial");

  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kClockSkewSeconds) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), kValidityDays, 0, nullptr)) {
    return OpenSslFailure("certificate validity");
  }

  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(host.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), subject) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1) {
    return OpenSslFailure("certificate subject");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  // CA:FALSE: clients that load this file as their CA file accept it as a self-signed trust
  // anchor under OpenSSL 3 even with X509_V_FLAG_X509_STRICT (Python 3.13's default), as the
  // unit tests check, while browsers refuse a CA certificate presented by a server (Firefox:
  // MOZILLA_PKIX_ERROR_CA_CERT_USED_AS_END_ENTITY). Without keyCertSign the key can sign
  // nothing that a client would accept either.
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth"));
  // The key identifiers are what `openssl req -x509` adds too; strict verification asks for
  // them on certificates that are not self-signed, and some clients match anchors by them.
  // The subject's must exist before the authority's can copy it.
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  RETURN_IF_ERROR(AddSubjectAltName(cert.get(), names));

  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return OpenSslFailure("signing the certificate");

  NewPair out;
  {
    OsslPtr<BIO> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return OpenSslFailure("certificate PEM");
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    out.cert_pem.assign(data, static_cast<size_t>(len));
  }
  // A secure-memory BIO is wiped when freed, so the PEM key leaves no copy in the heap.
  out.key_pem.reset(BIO_new(BIO_s_secmem()));
  if (!out.key_pem ||
      PEM_write_bio_PrivateKey(out.key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslFailure("private key PEM");
  }
  return out;
}

Status MakeTlsDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return StatusFromErrno(errno, dir);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return StatusFromErrno(errno, dir);
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(fmt::format("{}: not a directory", dir));
  // mkdir's mode passed through the umask, and an older directory may have been widened.
  if ((st.st_mode & 07777) != 0700 && chmod(dir.c_str(), 0700) != 0) return StatusFromErrno(errno, dir);
  return Status();
}

Result<bool> Exists(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return StatusFromErrno(errno, path);
}

Status RemoveIfPresent(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return StatusFromErrno(errno, path);
  return Status();
}

Result<TlsIdentity> UseConfigured(const TlsFiles& files) {
  if (files.cert_path.empty() || files.key_path.empty()) {
    return Status::InvalidArgument(
        fmt::format("TLS certificate and key must be configured together (certificate: \"{}\", key: \"{}\")",
                    files.cert_path, files.key_path));
  }
  TlsIdentity id;
  id.files = files;
  ASSIGN_OR_RETURN(id.fingerprint_sha256, CheckPair(files));
  return id;
}

}  // namespace

Result<std::string> CertificateFingerprint(const std::string& cert_pem_path) {
  ASSIGN_OR_RETURN(OsslPtr<X509> cert, ReadCertificate(cert_pem_path));
  return Fingerprint(cert.get());
}

Result<TlsIdentity> LoadOrCreateTlsIdentity(const std::string& state_dir, const TlsFiles& configured,
                                            const std::vector<std::string>& extra_names) {
  if (!configured.cert_path.empty() || !configured.key_path.empty()) return UseConfigured(configured);

  const std::string dir = state_dir + "/tls";
  TlsIdentity id;
  id.files = {dir + "/cert.pem", dir + "/key.pem"};
  RETURN_IF_ERROR(MakeTlsDir(dir));

  ASSIGN_OR_RETURN(bool have_cert, Exists(id.files.cert_path));
  ASSIGN_OR_RETURN(bool have_key, Exists(id.files.key_path));
  if (have_cert && have_key) {
    auto fingerprint = CheckPair(id.files);
    if (!fingerprint.ok()) {
      // Our own writes never leave a damaged or mismatched pair behind (see below), so this
      // is outside interference or disk damage: say so rather than replace the identity
      // clients have pinned.
      Status st = std::move(fingerprint).status();
      if (st.code() != ErrorCode::kInvalidArgument) return st;
      return Status::Corruption(fmt::format("{}; remove {} and {} to generate a new certificate", st.message(),
                                            id.files.cert_path, id.files.key_path));
    }
    id.fingerprint_sha256 = std::move(fingerprint).value();
    return id;
  }

  // One file without the other is useless (a certificate whose key is lost can never be
  // served again), so both are made anew. The survivor goes first and the key is written
  // before the certificate: wherever a crash interrupts this, the next start finds nothing
  // or a lone key and lands here again, never a mismatched pair.
  RETURN_IF_ERROR(RemoveIfPresent(id.files.cert_path));
  RETURN_IF_ERROR(RemoveIfPresent(id.files.key_path));
  ASSIGN_OR_RETURN(NewPair pair, MakeSelfSigned(extra_names));
  char* key_data = nullptr;
  long key_len = BIO_get_mem_data(pair.key_pem.get(), &key_data);
  // ReplaceFileAtomic creates the file with mode 0600 before the first byte is written, and
  // it clears the temporary left by a crash in an earlier attempt, where WriteFileAtomic
  // would refuse to go on.
  RETURN_IF_ERROR(ReplaceFileAtomic(id.files.key_path, std::string_view(key_data, static_cast<size_t>(key_len)), 0600));
  RETURN_IF_ERROR(ReplaceFileAtomic(id.files.cert_path, pair.cert_pem, 0644));

  // Read back through the same path a later start takes, so what we return is what loads.
  ASSIGN_OR_RETURN(id.fingerprint_sha256, CheckPair(id.files));
  id.generated = true;
  return id;
}

}  // namespace keepsake::web
