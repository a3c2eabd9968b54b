#include "crypto/keystore.h"

#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/file_io.h"
#include "base/json_fields.h"
#include "crypto/device_certificate.h"
#include "crypto/dms_text.h"

namespace keepsake::crypto {
namespace {

constexpr char kAlreadySet[] = "The Domain Master Secret is already set and cannot be changed or deleted";
constexpr size_t kMaxKeystoreSize = 64 * 1024;

// Format v2: the domain's public keys, this device's own key and certificate, and the
// domain's box secret key only when the administrator chose to keep the restore key.
nlohmann::json SerializeV2(const DomainKeys& keys) {
  const DeviceKey& device = *keys.device;
  const DeviceCertificate& cert = device.certificate;
  std::span<const uint8_t> seed(device.secret_key.data(), crypto_sign_SEEDBYTES);
  nlohmann::json j = {
      {"version", 2},
      {"salt", ToHex(keys.salt)},
      {"kdf", {{"alg", "argon2id13"}, {"opslimit", keys.kdf.opslimit}, {"memlimit_kib", keys.kdf.memlimit_kib}}},
      {"public_key", ToHex(keys.public_key)},
      {"fingerprint", DomainFingerprint(keys.public_key)},
      {"box_public_key", ToHex(keys.box_public_key)},
      {"device",
       {{"device_id", cert.device_id},
        {"public_key", ToHex(cert.device_public_key)},
        {"signing_seed", ToBase64(seed)},
        {"key_epoch", cert.key_epoch},
        {"certified_at", cert.certified_at},
        {"certificate", ToBase64(cert.signature)}}},
  };
  if (!keys.box_secret_key.empty()) j["restore_key"] = ToBase64(keys.box_secret_key.span());
  return j;
}

// Only version 2 is written: a version 1 keystore is read, never made.
std::string Serialize(const DomainKeys& keys) {
  KS_CHECK(keys.device.has_value());
  nlohmann::json j = SerializeV2(keys);
  std::string text = j.dump(2) + "\n";
  WipeJsonStrings(j);
  return text;
}

SecureBuffer TakeSecret(std::vector<uint8_t>& bytes) {
  SecureBuffer out = SecureBuffer::CopyOf(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return out;
}

// The v2 fields after the common ones. kCorruption naming what does not hold together.
Status ParseV2(const std::string& path, const JsonFields& f, DomainKeys& keys) {
  RETURN_IF_ERROR(f.HexInto("box_public_key", keys.box_public_key));
  ASSIGN_OR_RETURN(JsonFields d, f.Object("device"));
  DeviceKey device;
  DeviceCertificate& cert = device.certificate;
  ASSIGN_OR_RETURN(cert.device_id, d.Text("device_id", kMaxDeviceIdSize));
  RETURN_IF_ERROR(d.HexInto("public_key", cert.device_public_key));
  ASSIGN_OR_RETURN(auto seed, d.Base64("signing_seed", crypto_sign_SEEDBYTES));
  SecureBuffer seed_buf = TakeSecret(seed);
  ASSIGN_OR_RETURN(uint64_t epoch, d.Uint("key_epoch"));
  cert.key_epoch = static_cast<uint32_t>(std::min<uint64_t>(epoch, UINT32_MAX));
  ASSIGN_OR_RETURN(cert.certified_at, d.Text("certified_at", 64));
  ASSIGN_OR_RETURN(auto sig, d.Base64("certificate", kSignatureSize));
  std::copy(sig.begin(), sig.end(), cert.signature.begin());
  device.secret_key = SecureBuffer(crypto_sign_SECRETKEYBYTES);
  PublicKey rebuilt;
  crypto_sign_seed_keypair(rebuilt.data(), device.secret_key.data(), seed_buf.data());
  if (rebuilt != cert.device_public_key) {
    return Status::Corruption(fmt::format("{}: keystore is damaged (device key mismatch)", path));
  }
  if (Status st = CheckCertificate(keys.public_key, cert); !st.ok()) {
    return Status::Corruption(fmt::format("{}: keystore is damaged (device certificate: {})", path, st.message()));
  }
  keys.device = std::move(device);
  if (f.Find("restore_key") != nullptr) {
    ASSIGN_OR_RETURN(auto sk, f.Base64("restore_key", crypto_box_SECRETKEYBYTES));
    keys.box_secret_key = TakeSecret(sk);
    BoxPublicKey pk;
    crypto_scalarmult_base(pk.data(), keys.box_secret_key.data());
    if (pk != keys.box_public_key) {
      return Status::Corruption(fmt::format("{}: keystore is damaged (restore key mismatch)", path));
    }
  }
  return Status();
}

Result<DomainKeys> Parse(const std::string& path, const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  struct Wiper {  // the base64 key material in the tree, however Parse returns
    nlohmann::json& j;
    ~Wiper() { WipeJsonStrings(j); }
  } wipe_when_done{j};
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(fmt::format("{}: keystore is not JSON", path));
  JsonFields f(j, path + ": keystore");
  ASSIGN_OR_RETURN(uint64_t version, f.Uint("version"));
  if (version != 1 && version != 2) return f.Bad("version", "unknown version");
  ASSIGN_OR_RETURN(JsonFields kdf, f.Object("kdf"));
  KdfParams params;
  ASSIGN_OR_RETURN(params.opslimit, kdf.Uint("opslimit"));
  ASSIGN_OR_RETURN(params.memlimit_kib, kdf.Uint("memlimit_kib"));
  if (Status st = ValidateKdfParams(params); !st.ok()) return kdf.Bad("opslimit", st.message());
  Salt salt;
  RETURN_IF_ERROR(f.HexInto("salt", salt));
  PublicKey pk;
  RETURN_IF_ERROR(f.HexInto("public_key", pk));
  ASSIGN_OR_RETURN(std::string fingerprint, f.String("fingerprint"));
  if (fingerprint != DomainFingerprint(pk)) {
    return Status::Corruption(fmt::format("{}: keystore is damaged (public key or fingerprint mismatch)", path));
  }
  if (version == 2) {
    DomainKeys keys;
    keys.salt = salt;
    keys.kdf = params;
    keys.public_key = pk;
    RETURN_IF_ERROR(ParseV2(path, f, keys));
    return keys;
  }
  ASSIGN_OR_RETURN(auto seed, f.Base64("signing_seed", crypto_sign_SEEDBYTES));
  ASSIGN_OR_RETURN(auto kek, f.Base64("kek", kKeySize));
  SecureBuffer seed_buf = TakeSecret(seed);
  SecureBuffer kek_buf = TakeSecret(kek);
  DomainKeys keys = KeysFromSeed(salt, params, seed_buf, kek_buf);
  if (keys.public_key != pk) {
    return Status::Corruption(fmt::format("{}: keystore is damaged (public key or fingerprint mismatch)", path));
  }
  return keys;
}

}  // namespace

std::string KeystorePath(const std::string& state_dir) { return state_dir + "/keystore.json"; }

Status CheckKeystoreFile(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status();  // LoadKeystore says "no DMS is set"
    return StatusFromErrno(errno, path);
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::FailedPrecondition(
        fmt::format("{}: the keystore is not a regular file (a symlink?); restore it "
                    "from the appliance's own copy",
                    path));
  }
  if (st.st_uid != geteuid()) {
    return Status::FailedPrecondition(fmt::format(
        "{}: the keystore belongs to uid {}, not to this service (uid {}); it holds the domain's keys: chown it "
        "back, and find out who changed it",
        path, st.st_uid, geteuid()));
  }
  if ((st.st_mode & 077) != 0) {
    return Status::FailedPrecondition(fmt::format(
        "{}: the keystore is open to other users (mode {:04o}); it holds the domain's keys: make it private with "
        "'chmod 600', and treat the keys as exposed if anyone else could read it",
        path, st.st_mode & 07777));
  }
  return Status();
}

// Only a keystore that is certainly absent means "no DMS": one that cannot be looked at
// (a directory without permission, an I/O error) is there as far as anyone can tell, and
// loading it says why it cannot be read.
bool KeystoreExists(const std::string& state_dir) {
  struct stat st;
  return lstat(KeystorePath(state_dir).c_str(), &st) == 0 || errno != ENOENT;
}

Result<std::optional<PublicKey>> LoadKeystorePublicKey(const std::string& state_dir) {
  if (!KeystoreExists(state_dir)) return std::optional<PublicKey>();
  std::string path = KeystorePath(state_dir);
  RETURN_IF_ERROR(CheckKeystoreFile(path));
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxKeystoreSize));
  auto j = nlohmann::json::parse(text, nullptr, false);
  sodium_memzero(text.data(), text.size());
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(fmt::format("{}: keystore is not JSON", path));
  PublicKey pk;
  Status st = JsonFields(j, path + ": keystore").HexInto("public_key", pk);
  WipeJsonStrings(j);
  RETURN_IF_ERROR(std::move(st));
  return std::optional<PublicKey>(pk);
}

Result<std::optional<DomainKeys>> LoadKeystoreIfSet(const std::string& state_dir) {
  if (!KeystoreExists(state_dir)) return std::optional<DomainKeys>();
  ASSIGN_OR_RETURN(DomainKeys keys, LoadKeystore(state_dir));
  return std::optional<DomainKeys>(std::move(keys));
}

Status EnsureStateDir(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return StatusFromErrno(ec.value(), fmt::format("state directory {}", state_dir));
  struct stat st;
  if (lstat(state_dir.c_str(), &st) != 0) return StatusFromErrno(errno, fmt::format("state directory {}", state_dir));
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(fmt::format("state directory {} is not a directory", state_dir));
  }
  // It holds the keystore, the accounts and the tokens: private, whatever the umask made it
  // or an older release left (0755).
  if ((st.st_mode & 077) != 0 && st.st_uid == geteuid() && chmod(state_dir.c_str(), 0700) != 0) {
    return StatusFromErrno(errno, fmt::format("state directory {}", state_dir));
  }
  return Status();
}

Result<DomainKeys> LoadKeystore(const std::string& state_dir) {
  std::string path = KeystorePath(state_dir);
  RETURN_IF_ERROR(CheckKeystoreFile(path));
  auto text = ReadSmallFile(path, kMaxKeystoreSize);
  if (!text.ok()) {
    if (text.status().code() == ErrorCode::kNotFound) {
      return Status::FailedPrecondition(fmt::format(
          "no Domain Master Secret is set on this device (state directory {}); set it with 'keepsake dms set' "
          "or give the backup's DMS with --dms-file",
          state_dir));
    }
    return std::move(text).status();
  }
  auto keys = Parse(path, *text);
  sodium_memzero(text->data(), text->size());
  return keys;
}

namespace {

// What a v2 appliance keeps of keys derived from the DMS: the domain's public keys, a fresh
// certified device key, and the box secret key only when asked to keep the restore key.
Result<DomainKeys> DeviceKeysFrom(const DomainKeys& derived, const NewDevice& device) {
  DomainKeys kept;
  kept.salt = derived.salt;
  kept.kdf = derived.kdf;
  kept.public_key = derived.public_key;
  kept.box_public_key = derived.box_public_key;
  ASSIGN_OR_RETURN(DeviceKey key, NewCertifiedDeviceKey(derived, device.device_id, device.now));
  kept.device = std::move(key);
  if (device.keep_restore_key) kept.box_secret_key = SecureBuffer::CopyOf(derived.box_secret_key.span());
  return kept;
}

Result<DomainKeys> StoreKeys(const std::string& state_dir, DomainKeys keys) {
  RETURN_IF_ERROR(EnsureStateDir(state_dir));
  std::string text = Serialize(keys);
  Status st = WriteFileAtomic(KeystorePath(state_dir), text, 0600);
  sodium_memzero(text.data(), text.size());
  if (st.code() == ErrorCode::kAlreadyExists) return Status::AlreadyExists(kAlreadySet);
  RETURN_IF_ERROR(std::move(st));
  return keys;
}

}  // namespace

Result<DomainKeys> AdoptDomain(const std::string& state_dir, const SecureBuffer& dms, const Salt& salt,
                               const KdfParams& params, const PublicKey& expected_public_key, const NewDevice& device) {
  if (KeystoreExists(state_dir)) return Status::AlreadyExists(kAlreadySet);
  ASSIGN_OR_RETURN(DomainKeys keys, DeriveDomainKeys(dms, salt, params));
  if (keys.public_key != expected_public_key) {
    return Status::Unauthenticated(
        fmt::format("wrong Domain Master Secret: it does not open domain {}", DomainFingerprint(expected_public_key)));
  }
  ASSIGN_OR_RETURN(DomainKeys kept, DeviceKeysFrom(keys, device));
  return StoreKeys(state_dir, std::move(kept));
}

Result<DomainKeys> CreateKeystore(const std::string& state_dir, const SecureBuffer& dms,
                                  const SecureBuffer& confirmation, const KdfParams& params, const NewDevice& device) {
  if (KeystoreExists(state_dir)) return Status::AlreadyExists(kAlreadySet);
  RETURN_IF_ERROR(ValidateNewDms(dms, confirmation));
  Salt salt;
  randombytes_buf(salt.data(), salt.size());
  ASSIGN_OR_RETURN(DomainKeys keys, DeriveDomainKeys(dms, salt, params));
  ASSIGN_OR_RETURN(DomainKeys kept, DeviceKeysFrom(keys, device));
  return StoreKeys(state_dir, std::move(kept));
}

}  // namespace keepsake::crypto
