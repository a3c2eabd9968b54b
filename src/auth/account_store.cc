#include "auth/account_store.h"

#include <errno.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "base/json_fields.h"
#include "base/strings.h"
#include "base/utf8.h"

namespace keepsake::auth {

std::string OtpUserPath(const std::string& state_dir) { return state_dir + "/otp-user.json"; }

namespace {

constexpr size_t kMinNameChars = 3, kMaxNameChars = 64;
constexpr size_t kMinPasswordChars = 8, kMaxPasswordChars = 64;
// Bounds on what we read: far above any real appliance, far below a memory problem.
constexpr size_t kMaxUsersFileSize = 4 << 20;
constexpr size_t kMaxAccounts = 10000;
constexpr size_t kMaxOtpFileSize = 4096;
// 160 bits of entropy for the one-time password.
constexpr size_t kOtpRandomBytes = 20;

constexpr const char* kInvalidCredentials = "invalid username or password";

bool IsAsciiAlnum(char32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
}

// Best effort: parsing and formatting leave copies we cannot reach, but the buffers we own
// do not keep a password after use.
void Wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
}

// RFC 4648 base32 (A-Z, 2-7), no padding: 20 bytes make exactly 32 characters. Chosen over
// base64 because the administrator may copy the password from a console by hand: one case,
// no punctuation, and no 0/1/8 to confuse with O/I/B.
SecureBuffer Base32(const SecureBuffer& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  SecureBuffer out((bytes.size() * 8 + 4) / 5);
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : bytes.span()) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.data()[o++] = kAlphabet[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out.data()[o++] = kAlphabet[(acc << (5 - bits)) & 31];
  return out;
}

// Creates `dir` (0700) if missing, fsyncing its parent so the new entry survives power loss.
Status EnsureDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) == 0) {
    auto slash = dir.find_last_of('/');
    return FsyncDir(slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash));
  }
  if (errno == EEXIST) return Status();
  return StatusFromErrno(errno, dir);
}

// Holds one of the semaphore's slots for the lifetime of the object.
class SlotGuard {
 public:
  explicit SlotGuard(std::counting_semaphore<2>& sem) : sem_(sem) { sem_.acquire(); }
  ~SlotGuard() { sem_.release(); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  std::counting_semaphore<2>& sem_;
};

}  // namespace

Status ValidateUsername(std::string_view username) {
  size_t chars = 0;
  bool valid_chars = true, has_alnum = false;
  ForEachUtf8(username, [&](std::string_view, std::optional<char32_t> cp) {
    ++chars;
    if (!cp || !(IsAsciiAlnum(*cp) || *cp == '.' || *cp == '_' || *cp == '-' || *cp == '@')) valid_chars = false;
    if (cp && IsAsciiAlnum(*cp)) has_alnum = true;
  });
  if (chars < kMinNameChars || chars > kMaxNameChars) {
    return Status::InvalidArgument(
        fmt::format("username must be {} to {} characters long", kMinNameChars, kMaxNameChars));
  }
  if (!valid_chars) return Status::InvalidArgument("username may contain only letters, digits and . _ - @");
  if (!has_alnum) return Status::InvalidArgument("username must contain at least one letter or digit");
  return Status();
}

Status ValidateNewPassword(const SecureBuffer& password, const SecureBuffer& confirmation) {
  std::optional<Utf8Text> text = ScanUtf8(password.view());
  if (!text) return Status::InvalidArgument("password must be valid UTF-8");
  const size_t chars = text->code_points;
  // C0, DEL and C1: invisible, and some cannot be typed or survive a form field.
  const bool control = text->has_control;
  if (chars < kMinPasswordChars || chars > kMaxPasswordChars) {
    return Status::InvalidArgument(
        fmt::format("password must be {} to {} characters long", kMinPasswordChars, kMaxPasswordChars));
  }
  if (control) return Status::InvalidArgument("password must not contain control characters");
  if (password.size() != confirmation.size() ||
      sodium_memcmp(password.data(), confirmation.data(), password.size()) != 0) {
    return Status::InvalidArgument("the two passwords do not match");
  }
  return Status();
}

// What the two files say at one moment. `users` is the parsed users.json, kept as JSON so
// that fields unknown to this version survive a rewrite; every entry has been checked to
// carry "username" and "password_hash" strings.
struct AccountStore::Snapshot {
  struct Otp {
    std::string username;
    SecureBuffer password;
    int64_t created_at = 0;
  };
  nlohmann::json users = nlohmann::json::array();
  std::optional<Otp> otp;

  const nlohmann::json* FindUser(std::string_view name) const {
    for (const auto& u : users) {
      if (EqualsIgnoreCase(u["username"].get_ref<const std::string&>(), name)) return &u;
    }
    return nullptr;
  }
  bool IsOtp(std::string_view name) const { return otp && EqualsIgnoreCase(otp->username, name); }
  bool NameTaken(std::string_view name) const { return IsOtp(name) || FindUser(name) != nullptr; }
};

AccountStore::AccountStore(std::string appliance_root, std::string state_dir, PwhashParams params,
                           std::string dummy_hash)
    : accounts_dir_(appliance_root + "/system/accounts"),
      users_path_(accounts_dir_ + "/users.json"),
      state_dir_(std::move(state_dir)),
      otp_path_(OtpUserPath(state_dir_)),
      params_(params),
      dummy_hash_(std::move(dummy_hash)) {}

AccountStore::~AccountStore() = default;

Result<std::unique_ptr<AccountStore>> AccountStore::Open(std::string appliance_root, std::string state_dir,
                                                         PwhashParams params) {
  KS_CHECK(sodium_init() >= 0);
  if (params.opslimit < crypto_pwhash_OPSLIMIT_MIN || params.opslimit > crypto_pwhash_OPSLIMIT_MAX) {
    return Status::InvalidArgument(
        fmt::format("password hash opslimit must be at least {}", static_cast<uint64_t>(crypto_pwhash_OPSLIMIT_MIN)));
  }
  if (params.memlimit < crypto_pwhash_MEMLIMIT_MIN || params.memlimit > crypto_pwhash_MEMLIMIT_MAX) {
    return Status::InvalidArgument(fmt::format("password hash memlimit must be at least {} bytes",
                                               static_cast<uint64_t>(crypto_pwhash_MEMLIMIT_MIN)));
  }
  // Unknown names are verified against this hash, made with the cost new accounts get, so
  // that a miss takes as long as a wrong password.
  uint8_t random[16];
  randombytes_buf(random, sizeof random);
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, reinterpret_cast<const char*>(random), sizeof random, params.opslimit, params.memlimit) !=
      0) {
    return Status::Unavailable("not enough memory to hash passwords with the configured memlimit");
  }
  return std::unique_ptr<AccountStore>(
      new AccountStore(std::move(appliance_root), std::move(state_dir), params, std::string(hash)));
}

Result<AccountStore::Snapshot> AccountStore::Load() {
  Snapshot snap;
  auto users_text = ReadSmallFile(users_path_, kMaxUsersFileSize);
  if (users_text.ok()) {
    snap.users = nlohmann::json::parse(*users_text, nullptr, false);
    if (snap.users.is_discarded() || !snap.users.is_array()) {
      return Status::Corruption(fmt::format("{}: not a JSON array of accounts", users_path_));
    }
    if (snap.users.size() > kMaxAccounts) {
      return Status::Corruption(fmt::format("{}: more than {} accounts", users_path_, kMaxAccounts));
    }
    for (size_t i = 0; i < snap.users.size(); ++i) {
      if (!snap.users[i].is_object()) {
        return Status::Corruption(fmt::format("{} entry {}: not an object", users_path_, i));
      }
      JsonFields f(snap.users[i], fmt::format("{} entry {}", users_path_, i));
      RETURN_IF_ERROR(f.String("username").status());
      RETURN_IF_ERROR(f.String("password_hash").status());
      if (f.Find("created_at") != nullptr) RETURN_IF_ERROR(f.Int("created_at").status());
    }
  } else if (users_text.status().code() != ErrorCode::kNotFound) {
    return std::move(users_text).status();
  }

  auto otp_text = ReadSmallFile(otp_path_, kMaxOtpFileSize);
  if (otp_text.ok()) {
    nlohmann::json j = nlohmann::json::parse(*otp_text, nullptr, false);
    Wipe(*otp_text);
    if (j.is_discarded() || !j.is_object()) return Status::Corruption(fmt::format("{}: not a JSON object", otp_path_));
    JsonFields f(j, otp_path_);
    Snapshot::Otp otp;
    { ASSIGN_OR_RETURN(otp.username, f.String("username")); }
    const nlohmann::json* pw = f.Find("password");
    if (pw == nullptr || !pw->is_string() || pw->get_ref<const std::string&>().empty()) {
      return f.Bad("password", "missing, empty or not a string");
    }
    auto& pw_text = j["password"].get_ref<std::string&>();
    otp.password = SecureBuffer::CopyOf({reinterpret_cast<const uint8_t*>(pw_text.data()), pw_text.size()});
    Wipe(pw_text);
    if (f.Find("created_at") != nullptr) {
      ASSIGN_OR_RETURN(otp.created_at, f.Int("created_at"));
    }
    snap.otp = std::move(otp);
  } else if (otp_text.status().code() != ErrorCode::kNotFound) {
    return std::move(otp_text).status();
  }
  return snap;
}

Status AccountStore::WriteUsers(const Snapshot& snap) {
  RETURN_IF_ERROR(EnsureDir(accounts_dir_.substr(0, accounts_dir_.find_last_of('/'))));
  RETURN_IF_ERROR(EnsureDir(accounts_dir_));
  // Names are validated ASCII, but entries from elsewhere are written back as read: replace
  // rather than throw should one hold invalid UTF-8.
  std::string text = snap.users.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return ReplaceFileAtomic(users_path_, text, 0600);
}

Result<bool> AccountStore::VerifyHash(const std::string& hash, const SecureBuffer& password) {
  SlotGuard slot(hashing_);
  errno = 0;
  if (crypto_pwhash_str_verify(hash.c_str(), reinterpret_cast<const char*>(password.data()), password.size()) == 0) {
    return true;
  }
  // A mismatch and a malformed stored hash both mean "wrong password"; only a lack of
  // memory is worth telling apart, as a retry may succeed.
  if (errno == ENOMEM) return Status::Unavailable("not enough memory to check the password");
  return false;
}

Result<std::optional<SecureBuffer>> AccountStore::EnsureInitialOtpUser(int64_t now) {
  std::lock_guard lock(mu_);
  // A file that exists but cannot be read still means an OTP user: never overwrite it.
  if (OtpUserExists()) return std::optional<SecureBuffer>();
  ASSIGN_OR_RETURN(Snapshot snap, Load());
  if (!snap.users.empty() || snap.otp) return std::optional<SecureBuffer>();

  SecureBuffer random(kOtpRandomBytes);
  randombytes_buf(random.data(), random.size());
  SecureBuffer password = Base32(random);
  // Built by hand rather than through nlohmann::json so that the password has one copy in
  // ordinary memory, which we wipe; the base32 alphabet needs no JSON escaping.
  std::string text;
  text.reserve(128 + password.size());
  text.append(R"({"username": ")").append(kOtpUsername).append(R"(", "password": ")");
  text.append(password.view());
  text.append(fmt::format(R"(", "created_at": {}}})", now)).append("\n");
  // WriteFileAtomic never replaces: if another process made an OTP user meanwhile, keep it.
  Status st = WriteFileAtomic(otp_path_, text, 0600);
  Wipe(text);
  if (st.code() == ErrorCode::kAlreadyExists) return std::optional<SecureBuffer>();
  RETURN_IF_ERROR(st);
  return std::optional<SecureBuffer>(std::move(password));
}

Result<std::vector<Account>> AccountStore::List() {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Snapshot snap, Load());
  std::vector<Account> out;
  if (snap.otp) out.push_back({snap.otp->username, true, snap.otp->created_at});
  size_t first_oauth = out.size();
  for (const auto& u : snap.users) {
    out.push_back({u["username"].get<std::string>(), false, u.value("created_at", int64_t{0})});
  }
  std::sort(out.begin() + first_oauth, out.end(), [](const Account& a, const Account& b) {
    std::string la = Lower(a.username), lb = Lower(b.username);
    return la != lb ? la < lb : a.username < b.username;
  });
  return out;
}

Result<std::optional<Account>> AccountStore::Find(std::string_view username) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Snapshot snap, Load());
  if (snap.IsOtp(username)) return std::optional<Account>(Account{snap.otp->username, true, snap.otp->created_at});
  if (const auto* u = snap.FindUser(username)) {
    return std::optional<Account>(
        Account{(*u)["username"].get<std::string>(), false, u->value("created_at", int64_t{0})});
  }
  return std::optional<Account>();
}

bool AccountStore::OtpUserExists() {
  struct stat st;
  // Anything but "no such file" (a permission problem, say) counts as present.
  return stat(otp_path_.c_str(), &st) == 0 || errno != ENOENT;
}

Result<Account> AccountStore::Authenticate(std::string_view username, const SecureBuffer& password) {
  std::optional<Account> match;
  std::string hash;
  bool otp_ok = false;
  {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Snapshot snap, Load());
    if (snap.IsOtp(username)) {
      match = Account{snap.otp->username, true, snap.otp->created_at};
      const SecureBuffer& expected = snap.otp->password;
      otp_ok =
          expected.size() == password.size() && sodium_memcmp(expected.data(), password.data(), password.size()) == 0;
    } else if (const auto* u = snap.FindUser(username)) {
      match = Account{(*u)["username"].get<std::string>(), false, u->value("created_at", int64_t{0})};
      hash = (*u)["password_hash"].get<std::string>();
    }
  }
  // Exactly one Argon2id run whatever the outcome (the dummy hash for unknown names and for
  // the OTP user), and outside the lock: hashing takes a while and must not stall List().
  ASSIGN_OR_RETURN(bool hash_ok, VerifyHash(hash.empty() ? dummy_hash_ : hash, password));
  bool ok = match && (match->otp ? otp_ok : (hash_ok && !hash.empty()));
  if (!ok) return Status::Unauthenticated(kInvalidCredentials);
  return *match;
}

Status AccountStore::Add(std::string_view username, const SecureBuffer& password, const SecureBuffer& confirmation,
                         int64_t now) {
  RETURN_IF_ERROR(ValidateUsername(username));
  RETURN_IF_ERROR(ValidateNewPassword(password, confirmation));
  auto taken = [&](const Snapshot& snap) {
    return snap.NameTaken(username) ? Status::AlreadyExists(fmt::format("an account named {} already exists", username))
                                    : Status();
  };
  // Refuse a duplicate before spending a hash on it; checked again under the lock below.
  {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Snapshot snap, Load());
    RETURN_IF_ERROR(taken(snap));
  }
  char hash[crypto_pwhash_STRBYTES];
  {
    SlotGuard slot(hashing_);
    if (crypto_pwhash_str(hash, reinterpret_cast<const char*>(password.data()), password.size(), params_.opslimit,
                          params_.memlimit) != 0) {
      return Status::Unavailable("not enough memory to hash the password");
    }
  }
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Snapshot snap, Load());
  RETURN_IF_ERROR(taken(snap));
  snap.users.push_back(
      {{"username", std::string(username)}, {"password_hash", std::string(hash)}, {"created_at", now}});
  return WriteUsers(snap);
}

Status AccountStore::CheckRemovable(const Snapshot& snap, std::string_view username, std::string_view requester) {
  if (!snap.NameTaken(username)) {
    // Echo the name only when it is a valid one: it comes from a request and ends up on screen.
    if (!ValidateUsername(username).ok()) return Status::NotFound("no such account");
    return Status::NotFound(fmt::format("no account named {}", username));
  }
  if (EqualsIgnoreCase(username, requester)) return Status::FailedPrecondition("you cannot remove your own account");
  size_t can_log_in = snap.users.size() + (snap.otp ? 1 : 0);
  if (can_log_in <= 1) return Status::FailedPrecondition("the last account that can log in cannot be removed");
  return Status();
}

Status AccountStore::Remove(std::string_view username, std::string_view requester) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Snapshot snap, Load());
  RETURN_IF_ERROR(CheckRemovable(snap, username, requester));
  if (snap.IsOtp(username)) {
    if (unlink(otp_path_.c_str()) != 0 && errno != ENOENT) return StatusFromErrno(errno, otp_path_);
    // Without this the file may come back after a power loss, and with it the OTP user.
    return FsyncDir(state_dir_);
  }
  auto& users = snap.users;
  for (auto it = users.begin(); it != users.end(); ++it) {
    if (EqualsIgnoreCase((*it)["username"].get_ref<const std::string&>(), username)) {
      users.erase(it);
      break;
    }
  }
  return WriteUsers(snap);
}

std::string AccountStore::RemoveRefusal(std::string_view username, std::string_view requester) {
  std::lock_guard lock(mu_);
  auto snap = Load();
  if (!snap.ok()) return snap.status().message();
  return CheckRemovable(*snap, username, requester).message();
}

}  // namespace keepsake::auth
