#include "auth/account_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/file_io.h"

namespace keepsake::auth {
namespace {

SecureBuffer Pw(std::string_view s) {
  return SecureBuffer::CopyOf({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Cheapest Argon2id libsodium allows: the tests check behaviour, not cost.
PwhashParams Cheap() { return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

// ---- username and password rules ----------------------------------------------------------

void ExpectInvalid(const Status& st, std::string_view words) {
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message(), words);
}

TEST(UsernameRules, AcceptsLettersDigitsAndFourMarks) {
  EXPECT_TRUE(ValidateUsername("admin").ok());
  EXPECT_TRUE(ValidateUsername("ra.officer_2-x@example.org").ok());
  EXPECT_TRUE(ValidateUsername("abc").ok());
  EXPECT_TRUE(ValidateUsername("007").ok());
  EXPECT_TRUE(ValidateUsername(std::string(64, 'a')).ok());
}

TEST(UsernameRules, LengthIsThreeToSixtyFourCharacters) {
  ExpectInvalid(ValidateUsername("ab"), "username must be 3 to 64 characters long");
  ExpectInvalid(ValidateUsername(""), "username must be 3 to 64 characters long");
  ExpectInvalid(ValidateUsername(std::string(65, 'a')), "username must be 3 to 64 characters long");
}

TEST(UsernameRules, LengthCountsCodePointsNotBytes) {
  // "ää" is 4 bytes but 2 characters: too short. 64 x "ä" is 128 bytes but 64 characters: the
  // length is fine, the character rule refuses it.
  ExpectInvalid(ValidateUsername("\xC3\xA4\xC3\xA4"), "username must be 3 to 64 characters long");
  ExpectInvalid(ValidateUsername(Repeat("\xC3\xA4", 64)), "username may contain only letters, digits and . _ - @");
  ExpectInvalid(ValidateUsername(Repeat("\xC3\xA4", 65)), "username must be 3 to 64 characters long");
}

TEST(UsernameRules, OnlyAsciiLettersDigitsAndDotUnderscoreDashAt) {
  for (const char* bad :
       {"bad name", "a/b/c", "tab\tx", "semi;colon", "quote\"d", "j\xC3\xBCrgen", "\xFF\xFE\xFD", "new\nline"}) {
    ExpectInvalid(ValidateUsername(bad), "username may contain only letters, digits and . _ - @");
  }
}

TEST(UsernameRules, NeedsALetterOrDigit) {
  ExpectInvalid(ValidateUsername("..."), "username must contain at least one letter or digit");
  ExpectInvalid(ValidateUsername("-_@."), "username must contain at least one letter or digit");
}

TEST(PasswordRules, EightToSixtyFourCharacters) {
  EXPECT_TRUE(ValidateNewPassword(Pw("12345678"), Pw("12345678")).ok());
  EXPECT_TRUE(ValidateNewPassword(Pw(std::string(64, 'x')), Pw(std::string(64, 'x'))).ok());
  ExpectInvalid(ValidateNewPassword(Pw("1234567"), Pw("1234567")), "password must be 8 to 64 characters long");
  ExpectInvalid(ValidateNewPassword(Pw(std::string(65, 'x')), Pw(std::string(65, 'x'))),
                "password must be 8 to 64 characters long");
  ExpectInvalid(ValidateNewPassword(Pw(""), Pw("")), "password must be 8 to 64 characters long");
}

TEST(PasswordRules, LengthCountsCodePointsNotBytes) {
  std::string seven = Repeat("\xC3\xA4", 7);  // 14 bytes
  ExpectInvalid(ValidateNewPassword(Pw(seven), Pw(seven)), "password must be 8 to 64 characters long");
  std::string sixty_four = Repeat("\xC3\xA4", 64);  // 128 bytes
  EXPECT_TRUE(ValidateNewPassword(Pw(sixty_four), Pw(sixty_four)).ok());
  std::string sixty_five = Repeat("\xC3\xA4", 65);
  ExpectInvalid(ValidateNewPassword(Pw(sixty_five), Pw(sixty_five)), "password must be 8 to 64 characters long");
  std::string emoji = Repeat("\xF0\x9F\x94\x91", 8);  // 8 x U+1F511, 32 bytes
  EXPECT_TRUE(ValidateNewPassword(Pw(emoji), Pw(emoji)).ok());
}

TEST(PasswordRules, BothEntriesMustMatch) {
  ExpectInvalid(ValidateNewPassword(Pw("correct horse"), Pw("correct house")), "the two passwords do not match");
  ExpectInvalid(ValidateNewPassword(Pw("correct horse"), Pw("correct horse ")), "the two passwords do not match");
}

TEST(PasswordRules, NoControlCharacters) {
  for (std::string bad : {std::string("line\nbreak!"), std::string("tab\there!"), std::string("nul\0byte!", 9),
                          std::string("del\x7F"
                                      "char!"),
                          std::string("c1\xC2\x85"
                                      "char!")}) {
    ExpectInvalid(ValidateNewPassword(Pw(bad), Pw(bad)), "password must not contain control characters");
  }
  EXPECT_TRUE(ValidateNewPassword(Pw("spaces are fine"), Pw("spaces are fine")).ok());
}

TEST(PasswordRules, MustBeUtf8) {
  std::string bad = "abcdefgh\xFF";
  ExpectInvalid(ValidateNewPassword(Pw(bad), Pw(bad)), "password must be valid UTF-8");
  std::string overlong = "abcdefgh\xC0\xAF";
  ExpectInvalid(ValidateNewPassword(Pw(overlong), Pw(overlong)), "password must be valid UTF-8");
}

// ---- AccountStore -----------------------------------------------------------------------

class AccountStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ks_accounts_XXXXXX";
    base_ = mkdtemp(tmpl);
    root_ = base_ + "/root";
    state_ = base_ + "/state";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(state_.c_str(), 0700), 0);
    store_ = Reopen();
  }
  void TearDown() override { std::filesystem::remove_all(base_); }

  std::unique_ptr<AccountStore> Reopen() {
    auto store = AccountStore::Open(root_, state_, Cheap());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return std::move(store).value();
  }

  std::string UsersPath() const { return root_ + "/system/accounts/users.json"; }
  std::string OtpPath() const { return OtpUserPath(state_); }

  Status AddUser(std::string_view name, std::string_view password = "correct horse") {
    return store_->Add(name, Pw(password), Pw(password), 1000);
  }
  // The one-time password of a freshly made OTP user.
  std::string MakeOtpUser() {
    auto otp = store_->EnsureInitialOtpUser(500);
    EXPECT_TRUE(otp.ok() && otp->has_value());
    return std::string(otp->value().view());
  }
  // Writes users.json as a test fixture or a restore would.
  void WriteUsers(const nlohmann::json& users) {
    std::filesystem::create_directories(root_ + "/system/accounts");
    ASSERT_TRUE(ReplaceFileAtomic(UsersPath(), users.dump() + "\n", 0600).ok());
  }
  nlohmann::json ReadJson(const std::string& path) {
    auto text = ReadSmallFile(path, 1 << 20);
    EXPECT_TRUE(text.ok());
    return nlohmann::json::parse(text.ok() ? *text : "", nullptr, false);
  }
  static mode_t ModeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  std::vector<std::string> Names() {
    auto list = store_->List();
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::vector<std::string> names;
    if (list.ok()) {
      for (const auto& a : *list) names.push_back((a.otp ? "otp:" : "") + a.username);
    }
    return names;
  }
  void ExpectRefused(const Status& st, ErrorCode code, std::string_view message) {
    EXPECT_EQ(st.code(), code) << st.ToString();
    EXPECT_EQ(st.message(), message);
  }

  std::string base_, root_, state_;
  std::unique_ptr<AccountStore> store_;
};

TEST_F(AccountStoreTest, OpenRefusesCostsBelowLibsodiumsMinimum) {
  auto store = AccountStore::Open(root_, state_, {crypto_pwhash_OPSLIMIT_MIN - 1, crypto_pwhash_MEMLIMIT_MIN});
  EXPECT_EQ(store.status().code(), ErrorCode::kInvalidArgument);
  store = AccountStore::Open(root_, state_, {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN - 1});
  EXPECT_EQ(store.status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(AccountStoreTest, InitialOtpUserIsCreatedOnceWithA160BitPassword) {
  EXPECT_FALSE(store_->OtpUserExists());
  auto first = store_->EnsureInitialOtpUser(500);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->has_value());
  std::string password(first->value().view());
  // 32 base32 characters of 5 bits each: 160 bits, at least the 128 required.
  ASSERT_EQ(password.size(), 32u);
  EXPECT_GE(password.size() * 5, 128u);
  EXPECT_EQ(password.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), std::string::npos) << password;

  EXPECT_TRUE(store_->OtpUserExists());
  EXPECT_EQ(ModeOf(OtpPath()), 0600u);
  auto j = ReadJson(OtpPath());
  EXPECT_EQ(j["username"], "otp-admin");
  EXPECT_EQ(j["password"], password);
  EXPECT_EQ(j["created_at"], 500);

  auto second = store_->EnsureInitialOtpUser(600);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
  EXPECT_EQ(ReadJson(OtpPath())["password"], password);
  EXPECT_EQ(Names(), std::vector<std::string>{"otp:otp-admin"});
}

TEST_F(AccountStoreTest, OtpPasswordsDiffer) {
  std::string first = MakeOtpUser();
  std::filesystem::remove(OtpPath());
  EXPECT_NE(MakeOtpUser(), first);
}

TEST_F(AccountStoreTest, NoOtpUserBesideExistingAccounts) {
  ASSERT_TRUE(AddUser("alice").ok());
  auto otp = store_->EnsureInitialOtpUser(500);
  ASSERT_TRUE(otp.ok());
  EXPECT_FALSE(otp->has_value());
  EXPECT_FALSE(store_->OtpUserExists());
}

TEST_F(AccountStoreTest, NoOtpUserBesideAnUnreadableAccountsFile) {
  std::filesystem::create_directories(root_ + "/system/accounts");
  ASSERT_TRUE(ReplaceFileAtomic(UsersPath(), "[{\"username\": ", 0600).ok());
  auto otp = store_->EnsureInitialOtpUser(500);
  EXPECT_EQ(otp.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(otp.status().message().find("users.json"), std::string::npos) << otp.status().message();
  EXPECT_FALSE(store_->OtpUserExists());
  EXPECT_EQ(store_->List().status().code(), ErrorCode::kCorruption);
}

TEST_F(AccountStoreTest, OtpUserAuthenticatesWithItsPasswordOnly) {
  std::string password = MakeOtpUser();
  auto ok = store_->Authenticate("otp-admin", Pw(password));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->otp);
  EXPECT_EQ(ok->username, "otp-admin");
  EXPECT_TRUE(store_->Authenticate("OTP-Admin", Pw(password)).ok());

  std::string wrong = password;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {wrong, password.substr(0, 31), password + "A", std::string()}) {
    auto st = store_->Authenticate("otp-admin", Pw(bad)).status();
    EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated);
    EXPECT_EQ(st.message(), "invalid username or password");
  }
}

TEST_F(AccountStoreTest, AddedAccountAuthenticates) {
  ASSERT_TRUE(AddUser("alice", "correct horse").ok());
  auto ok = store_->Authenticate("alice", Pw("correct horse"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->username, "alice");
  EXPECT_FALSE(ok->otp);
  EXPECT_EQ(ok->created_at, 1000);
  EXPECT_EQ(store_->Authenticate("ALICE", Pw("correct horse"))->username, "alice");
}

TEST_F(AccountStoreTest, WrongPasswordAndUnknownUserGiveTheSameAnswer) {
  ASSERT_TRUE(AddUser("alice", "correct horse").ok());
  Status wrong = store_->Authenticate("alice", Pw("correct house")).status();
  Status unknown = store_->Authenticate("mallory", Pw("correct horse")).status();
  EXPECT_EQ(wrong.code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(unknown.code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(wrong.message(), "invalid username or password");
  EXPECT_EQ(unknown.message(), wrong.message());
}

TEST_F(AccountStoreTest, AddChecksTheRules) {
  auto st = store_->Add("ab", Pw("correct horse"), Pw("correct horse"), 1);
  ExpectRefused(st, ErrorCode::kInvalidArgument, "username must be 3 to 64 characters long");
  st = store_->Add("alice", Pw("correct horse"), Pw("correct house"), 1);
  ExpectRefused(st, ErrorCode::kInvalidArgument, "the two passwords do not match");
  EXPECT_FALSE(std::filesystem::exists(UsersPath()));
}

TEST_F(AccountStoreTest, NamesAreUniqueIgnoringCase) {
  ASSERT_TRUE(AddUser("alice").ok());
  ExpectRefused(AddUser("ALICE"), ErrorCode::kAlreadyExists, "an account named ALICE already exists");
  ASSERT_TRUE(ReplaceFileAtomic(OtpPath(), R"({"username": "otp-admin", "password": "one-time-7f3a"})", 0600).ok());
  ExpectRefused(AddUser("Otp-Admin"), ErrorCode::kAlreadyExists, "an account named Otp-Admin already exists");
  EXPECT_EQ(Names(), (std::vector<std::string>{"otp:otp-admin", "alice"}));
}

TEST_F(AccountStoreTest, NobodyRemovesTheirOwnAccount) {
  ASSERT_TRUE(AddUser("alice").ok());
  ASSERT_TRUE(AddUser("bob").ok());
  ExpectRefused(store_->Remove("alice", "Alice"), ErrorCode::kFailedPrecondition, "you cannot remove your own account");
  EXPECT_EQ(store_->RemoveRefusal("alice", "Alice"), "you cannot remove your own account");
  EXPECT_EQ(store_->RemoveRefusal("alice", "bob"), "");
  EXPECT_EQ(Names(), (std::vector<std::string>{"alice", "bob"}));
}

TEST_F(AccountStoreTest, TheLastAccountThatCanLogInStays) {
  MakeOtpUser();
  ASSERT_TRUE(AddUser("alice").ok());
  // The OTP user counts as able to log in: alice may go, leaving the OTP user.
  EXPECT_EQ(store_->RemoveRefusal("alice", "otp-admin"), "");
  ASSERT_TRUE(store_->Remove("otp-admin", "alice").ok());
  ExpectRefused(store_->Remove("alice", "root"), ErrorCode::kFailedPrecondition,
                "the last account that can log in cannot be removed");
  EXPECT_EQ(store_->RemoveRefusal("alice", "root"), "the last account that can log in cannot be removed");
  EXPECT_EQ(Names(), std::vector<std::string>{"alice"});
}

TEST_F(AccountStoreTest, TheOtpUserAloneCannotBeRemoved) {
  MakeOtpUser();
  ExpectRefused(store_->Remove("otp-admin", "root"), ErrorCode::kFailedPrecondition,
                "the last account that can log in cannot be removed");
  EXPECT_TRUE(store_->OtpUserExists());
}

TEST_F(AccountStoreTest, RemovingAnUnknownAccountIsNotFound) {
  ASSERT_TRUE(AddUser("alice").ok());
  ASSERT_TRUE(AddUser("bob").ok());
  ExpectRefused(store_->Remove("carol", "alice"), ErrorCode::kNotFound, "no account named carol");
  ExpectRefused(store_->Remove("<script>", "alice"), ErrorCode::kNotFound, "no such account");
  EXPECT_EQ(store_->RemoveRefusal("carol", "alice"), "no account named carol");
}

TEST_F(AccountStoreTest, RemovingTheOtpUserDeletesItsFile) {
  std::string otp = MakeOtpUser();
  ASSERT_TRUE(AddUser("alice").ok());
  ASSERT_TRUE(store_->Remove("OTP-ADMIN", "alice").ok());
  EXPECT_FALSE(std::filesystem::exists(OtpPath()));
  EXPECT_FALSE(store_->OtpUserExists());
  EXPECT_EQ(store_->Authenticate("otp-admin", Pw(otp)).status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(Names(), std::vector<std::string>{"alice"});
  // With an account in place, the OTP user does not come back at the next start.
  auto again = Reopen()->EnsureInitialOtpUser(900);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST_F(AccountStoreTest, RemovedAccountCannotLogIn) {
  ASSERT_TRUE(AddUser("alice").ok());
  ASSERT_TRUE(AddUser("bob").ok());
  ASSERT_TRUE(store_->Remove("BOB", "alice").ok());
  EXPECT_EQ(store_->Authenticate("bob", Pw("correct horse")).status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(Names(), std::vector<std::string>{"alice"});
}

TEST_F(AccountStoreTest, UsersFileIsPrivateJsonWithTheExpectedFields) {
  ASSERT_TRUE(AddUser("alice", "correct horse").ok());
  EXPECT_EQ(ModeOf(UsersPath()), 0600u);
  EXPECT_EQ(ModeOf(root_ + "/system/accounts"), 0700u);
  auto text = ReadSmallFile(UsersPath(), 1 << 20);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find("correct horse"), std::string::npos);
  auto j = nlohmann::json::parse(*text, nullptr, false);
  ASSERT_TRUE(j.is_array()) << *text;
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["username"], "alice");
  EXPECT_EQ(j[0]["created_at"], 1000);
  std::string hash = j[0]["password_hash"];
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_EQ(crypto_pwhash_str_verify(hash.c_str(), "correct horse", 13), 0);
}

TEST_F(AccountStoreTest, AccountsInTheOldFixtureFormatLoad) {
  char hash[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str(hash, "s3cret-pass", 11, Cheap().opslimit, Cheap().memlimit), 0);
  WriteUsers(nlohmann::json::array(
      {{{"username", "ra-officer"}, {"password_hash", hash}},
       {{"username", "admin"}, {"password_hash", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}, {"note", "kept"}}}));
  EXPECT_EQ(Names(), (std::vector<std::string>{"admin", "ra-officer"}));
  auto ok = store_->Authenticate("ra-officer", Pw("s3cret-pass"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->created_at, 0);
  // A hash that is no real Argon2id string is a wrong password, not an error.
  EXPECT_EQ(store_->Authenticate("admin", Pw("hash")).status().code(), ErrorCode::kUnauthenticated);

  // Rewriting keeps the old entries as they were, fields unknown to us included.
  ASSERT_TRUE(AddUser("alice").ok());
  auto j = ReadJson(UsersPath());
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["password_hash"], hash);
  EXPECT_FALSE(j[0].contains("created_at"));
  EXPECT_EQ(j[1]["note"], "kept");
}

TEST_F(AccountStoreTest, OtpUserInTheFixtureFormatLoads) {
  ASSERT_TRUE(ReplaceFileAtomic(OtpPath(),
                                R"({"username": "otp", "password": "one-time-7f3a"})"
                                "\n",
                                0600)
                  .ok());
  auto ok = store_->Authenticate("otp", Pw("one-time-7f3a"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->otp);
  EXPECT_EQ(ok->created_at, 0);
}

TEST_F(AccountStoreTest, FilesReplacedBehindItsBackAreSeen) {
  MakeOtpUser();
  ASSERT_TRUE(AddUser("alice").ok());
  // What a restore of "accounts" does: new users.json, OTP file gone.
  char hash[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str(hash, "restored-pw", 11, Cheap().opslimit, Cheap().memlimit), 0);
  WriteUsers(nlohmann::json::array({{{"username", "admin"}, {"password_hash", hash}}}));
  std::filesystem::remove(OtpPath());
  EXPECT_FALSE(store_->OtpUserExists());
  EXPECT_EQ(Names(), std::vector<std::string>{"admin"});
  EXPECT_TRUE(store_->Authenticate("admin", Pw("restored-pw")).ok());
  EXPECT_EQ(store_->Authenticate("alice", Pw("correct horse")).status().code(), ErrorCode::kUnauthenticated);
  auto found = store_->Find("ADMIN");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(found->value().username, "admin");
  EXPECT_FALSE(store_->Find("alice")->has_value());
}

TEST_F(AccountStoreTest, ListShowsTheOtpUserFirstThenAccountsByName) {
  MakeOtpUser();
  ASSERT_TRUE(AddUser("charlie").ok());
  ASSERT_TRUE(AddUser("Bob").ok());
  ASSERT_TRUE(AddUser("alice").ok());
  EXPECT_EQ(Names(), (std::vector<std::string>{"otp:otp-admin", "alice", "Bob", "charlie"}));
}

TEST_F(AccountStoreTest, OtpUserCountsAsPresentWhileItsFileIsUnreadable) {
  ASSERT_TRUE(ReplaceFileAtomic(OtpPath(), "not json", 0600).ok());
  EXPECT_TRUE(store_->OtpUserExists());
  EXPECT_EQ(store_->List().status().code(), ErrorCode::kCorruption);
  auto otp = store_->EnsureInitialOtpUser(1);
  ASSERT_TRUE(otp.ok());
  EXPECT_FALSE(otp->has_value());
  EXPECT_EQ(*ReadSmallFile(OtpPath(), 100), "not json");
}

}  // namespace
}  // namespace keepsake::auth
