#include "crypto/revocation.h"

#include <fmt/format.h>
#include <sodium.h>

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/file_io.h"
#include "base/json_fields.h"
#include "base/utc_time.h"
#include "crypto/device_certificate.h"
#include "crypto/signature.h"

namespace keepsake::crypto {
namespace {

constexpr std::string_view kContext = "keepsake-revocation-list-v2\n";
constexpr size_t kMaxRevocationsSize = 1 << 20;
constexpr size_t kMaxRevoked = 4096;

std::vector<uint8_t> SignedBytes(std::string_view list_text) {
  std::string m = std::string(kContext) + std::string(list_text);
  return std::vector<uint8_t>(m.begin(), m.end());
}

}  // namespace

const RevokedDevice* RevocationList::Find(const PublicKey& device_public_key) const {
  for (const RevokedDevice& r : revoked) {
    if (r.device_public_key == device_public_key) return &r;
  }
  return nullptr;
}

std::string RevocationsPath(const std::string& state_dir) { return state_dir + "/revocations.json"; }

std::string SignRevocationList(const DomainKeys& domain, const RevocationList& list) {
  KS_CHECK(domain.has_domain_secret() && list.domain_public_key == domain.public_key);
  nlohmann::json revoked = nlohmann::json::array();
  for (const RevokedDevice& r : list.revoked) {
    revoked.push_back({{"device_id", r.device_id},
                       {"device_public_key", ToHex(r.device_public_key)},
                       {"refuse_from", r.refuse_from}});
  }
  nlohmann::json body = {{"format", "keepsake-revocations"},
                         {"domain_public_key", ToHex(list.domain_public_key)},
                         {"serial", list.serial},
                         {"issued_at", list.issued_at},
                         {"revoked", std::move(revoked)}};
  std::string text = body.dump();
  Signature sig = Sign(domain.secret_key, SignedBytes(text));
  return nlohmann::json{{"list", text}, {"signature", ToBase64(sig)}}.dump(2) + "\n";
}

Result<RevocationList> ParseRevocationList(std::string_view text, const PublicKey& domain_public_key) {
  RETURN_IF_ERROR(CheckJsonText(text, 4, "revocation list: the file"));
  auto outer = nlohmann::json::parse(text, nullptr, false);
  if (!outer.is_object()) return Status::Corruption("revocation list: not a JSON object");
  JsonFields of(outer, "revocation list");
  ASSIGN_OR_RETURN(std::string list_text, of.String("list", kMaxRevocationsSize));
  ASSIGN_OR_RETURN(std::vector<uint8_t> sig_bytes, of.Base64("signature", kSignatureSize));
  Signature sig;
  std::copy(sig_bytes.begin(), sig_bytes.end(), sig.begin());
  if (!VerifySignature(domain_public_key, SignedBytes(list_text), sig)) {
    return Status::Unauthenticated(
        fmt::format("the revocation list is not signed by this domain ({}): it was forged, damaged, or is another "
                    "domain's",
                    DomainFingerprint(domain_public_key)));
  }
  RETURN_IF_ERROR(CheckJsonText(list_text, 4, "revocation list: the list"));
  auto j = nlohmann::json::parse(list_text, nullptr, false);
  if (!j.is_object()) return Status::Corruption("revocation list: the list is not a JSON object");
  JsonFields f(j, "revocation list");
  RevocationList list;
  ASSIGN_OR_RETURN(std::string format, f.Text("format"));
  if (format != "keepsake-revocations") return f.Bad("format", "not \"keepsake-revocations\"");
  RETURN_IF_ERROR(f.HexInto("domain_public_key", list.domain_public_key));
  if (list.domain_public_key != domain_public_key) return f.Bad("domain_public_key", "not the signing domain");
  ASSIGN_OR_RETURN(list.serial, f.Uint("serial"));
  ASSIGN_OR_RETURN(list.issued_at, f.Text("issued_at", 64));
  if (!ParseUtc(list.issued_at)) return f.Bad("issued_at", "not a UTC time");
  ASSIGN_OR_RETURN(const nlohmann::json* revoked, f.Array("revoked", kMaxRevoked));
  for (const auto& item : *revoked) {
    JsonFields r(item, "revocation list", "revoked[].");
    RevokedDevice d;
    ASSIGN_OR_RETURN(d.device_id, r.Text("device_id", kMaxDeviceIdSize));
    RETURN_IF_ERROR(r.HexInto("device_public_key", d.device_public_key));
    ASSIGN_OR_RETURN(d.refuse_from, r.Text("refuse_from", 64));
    if (!ParseUtc(d.refuse_from)) return r.Bad("refuse_from", "not a UTC time");
    list.revoked.push_back(std::move(d));
  }
  return list;
}

Result<RevocationList> LoadRevocations(const std::string& state_dir, const PublicKey& domain_public_key) {
  auto text = ReadSmallFile(RevocationsPath(state_dir), kMaxRevocationsSize + 4096);
  if (!text.ok() && text.status().code() == ErrorCode::kNotFound) {
    RevocationList empty;
    empty.domain_public_key = domain_public_key;
    return empty;
  }
  if (!text.ok()) return std::move(text).status();
  auto list = ParseRevocationList(*text, domain_public_key);
  if (!list.ok()) return std::move(list).status().WithContext(RevocationsPath(state_dir));
  return list;
}

Result<RevocationList> InstallRevocations(const std::string& state_dir, std::string_view text,
                                          const PublicKey& domain_public_key) {
  ASSIGN_OR_RETURN(RevocationList incoming, ParseRevocationList(text, domain_public_key));
  ASSIGN_OR_RETURN(RevocationList installed, LoadRevocations(state_dir, domain_public_key));
  if (incoming.serial <= installed.serial) {
    return Status::FailedPrecondition(
        fmt::format("this revocation list (serial {}) is not newer than the one installed (serial {}): nothing to do",
                    incoming.serial, installed.serial));
  }
  RETURN_IF_ERROR(ReplaceFileAtomic(RevocationsPath(state_dir), text, 0600));
  return incoming;
}

Status CheckNotRevoked(const RevocationList& list, const DeviceCertificate& cert, std::string_view created_at) {
  const RevokedDevice* r = list.Find(cert.device_public_key);
  // Both times are "YYYY-MM-DDTHH:MM:SSZ", checked on parsing: text order is time order.
  if (r == nullptr || created_at < std::string_view(r->refuse_from)) return Status();
  return Status::Unauthenticated(
      fmt::format("the backup was signed by device {} (key {}), whose key the domain revoked for backups made from "
                  "{} on: it is refused",
                  cert.device_id, DeviceFingerprint(cert.device_public_key), r->refuse_from));
}

}  // namespace keepsake::crypto
