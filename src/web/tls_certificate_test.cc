#include "web/tls_certificate.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "base/file_io.h"
#include "base/test_temp_dir.h"
#include "web/http_server.h"

namespace keepsake::web {
namespace {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
using CertPtr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, X509Free>;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

class TlsCertificateTest : public ::testing::Test {
 protected:
  // A state directory of its own under the test's temporary directory.
  std::string StateDir(const std::string& name) {
    std::string path = dir_ + "/" + name;
    std::filesystem::create_directory(path);
    return path;
  }

  TlsIdentity Generate(const std::string& state_dir, const std::vector<std::string>& extra = {}) {
    auto id = LoadOrCreateTlsIdentity(state_dir, {}, extra);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : TlsIdentity{};
  }

  static CertPtr ReadCert(const std::string& path) {
    FILE* f = fopen(path.c_str(), "r");
    if (f == nullptr) return nullptr;
    CertPtr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
    fclose(f);
    return cert;
  }

  static KeyPtr ReadKey(const std::string& path) {
    FILE* f = fopen(path.c_str(), "r");
    if (f == nullptr) return nullptr;
    KeyPtr key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
    fclose(f);
    return key;
  }

  // What the openssl binary prints for the certificate's SHA-256 fingerprint.
  static std::string OpenSslCliFingerprint(const std::string& cert_path) {
    std::string cmd = "openssl x509 -noout -fingerprint -sha256 -in '" + cert_path + "'";
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return "";
    std::string out;
    char buf[256];
    while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
    pclose(p);
    // "sha256 Fingerprint=AB:CD:...\n" (the label's case varies between versions).
    auto eq = out.find('=');
    if (eq == std::string::npos) return "";
    out = out.substr(eq + 1);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }

  TestTempDir tmp_{"ks_tls"};
  std::string dir_ = tmp_.path();
};

TEST_F(TlsCertificateTest, FirstCallGeneratesPrivateFiles) {
  std::string state = StateDir("state");
  TlsIdentity id = Generate(state);
  EXPECT_TRUE(id.generated);
  EXPECT_EQ(id.files.cert_path, state + "/tls/cert.pem");
  EXPECT_EQ(id.files.key_path, state + "/tls/key.pem");
  EXPECT_EQ(ModeOf(state + "/tls"), 0700u);
  EXPECT_EQ(ModeOf(id.files.key_path), 0600u);
  EXPECT_EQ(ModeOf(id.files.cert_path), 0644u);
  // No temporaries left next to them.
  using Dir = std::filesystem::directory_iterator;
  EXPECT_EQ(std::distance(Dir(state + "/tls"), Dir()), 2);
}

TEST_F(TlsCertificateTest, SecondCallLoadsTheSameCertificate) {
  std::string state = StateDir("state");
  TlsIdentity first = Generate(state);
  auto second = LoadOrCreateTlsIdentity(state, {});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->fingerprint_sha256, first.fingerprint_sha256);
  EXPECT_EQ(second->files.cert_path, first.files.cert_path);
}

TEST_F(TlsCertificateTest, FingerprintIsWhatOpenSslPrints) {
  TlsIdentity id = Generate(StateDir("state"));
  EXPECT_TRUE(std::regex_match(id.fingerprint_sha256, std::regex("[0-9A-F]{2}(:[0-9A-F]{2}){31}")))
      << id.fingerprint_sha256;
  EXPECT_EQ(id.fingerprint_sha256, OpenSslCliFingerprint(id.files.cert_path));
  auto direct = CertificateFingerprint(id.files.cert_path);
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  EXPECT_EQ(*direct, id.fingerprint_sha256);
}

TEST_F(TlsCertificateTest, CertificateIsSelfSignedP256ForTenYears) {
  TlsIdentity id = Generate(StateDir("state"));
  CertPtr cert = ReadCert(id.files.cert_path);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);

  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
  char group[64] = {};
  ASSERT_EQ(EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof(group), nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");  // OpenSSL's name for P-256

  EXPECT_EQ(X509_verify(cert.get(), pub), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);

  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get())), 1);
  EXPECT_GE(days, 9 * 365);
  // Valid already, with room for a client clock that runs behind.
  EXPECT_LT(X509_cmp_time(X509_get0_notBefore(cert.get()), nullptr), 0);
  time_t half_hour_ago = time(nullptr) - 1800;
  EXPECT_LT(X509_cmp_time(X509_get0_notBefore(cert.get()), &half_hour_ago), 0);

  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  EXPECT_GE(ASN1_STRING_length(serial), 15);  // 128 random bits, minus leading zero bytes by chance
  EXPECT_LE(ASN1_STRING_length(serial), 20);
}

TEST_F(TlsCertificateTest, CertificateNamesTheHostAndLoopback) {
  TlsIdentity id = Generate(StateDir("state"));
  CertPtr cert = ReadCert(id.files.cert_path);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.1.2.3", 0), 0);

  char cn[128] = {};
  ASSERT_GT(X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof(cn)), 0);
  EXPECT_EQ(X509_check_host(cert.get(), cn, 0, 0, nullptr), 1) << "CN " << cn << " is not among the SANs";
}

TEST_F(TlsCertificateTest, CertificateIsAServerLeaf) {
  TlsIdentity id = Generate(StateDir("state"));
  CertPtr cert = ReadCert(id.files.cert_path);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_NE(X509_get_extension_flags(cert.get()) & EXFLAG_BCONS, 0u);
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
}

// The reason the certificate can stay CA:FALSE: loaded as the only trust anchor, it verifies
// as a server certificate also under X509_V_FLAG_X509_STRICT (Python 3.13's default).
TEST_F(TlsCertificateTest, StrictVerificationAcceptsItAsItsOwnAnchor) {
  TlsIdentity id = Generate(StateDir("state"));
  CertPtr cert = ReadCert(id.files.cert_path);
  ASSERT_NE(cert, nullptr);
  std::unique_ptr<X509_STORE, X509Free> store(X509_STORE_new());
  ASSERT_EQ(X509_STORE_add_cert(store.get(), cert.get()), 1);
  std::unique_ptr<X509_STORE_CTX, X509Free> ctx(X509_STORE_CTX_new());
  ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr), 1);
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_X509_STRICT);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  ASSERT_EQ(X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx.get()), "localhost", 0), 1);
  EXPECT_EQ(X509_verify_cert(ctx.get()), 1) << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

TEST_F(TlsCertificateTest, KeyMatchesCertificate) {
  TlsIdentity id = Generate(StateDir("state"));
  CertPtr cert = ReadCert(id.files.cert_path);
  KeyPtr key = ReadKey(id.files.key_path);
  ASSERT_NE(cert, nullptr);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
}

TEST_F(TlsCertificateTest, ExtraNamesAreAdded) {
  TlsIdentity id = Generate(StateDir("state"), {"backup.example.com", "192.0.2.7", "2001:db8::7", "localhost"});
  CertPtr cert = ReadCert(id.files.cert_path);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert.get(), "backup.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "192.0.2.7", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "2001:db8::7", 0), 1);
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(sans, nullptr);
  // host, localhost (given twice), 127.0.0.1, ::1 and the three new ones; the host name may
  // itself be "localhost".
  int count = sk_GENERAL_NAME_num(sans);
  GENERAL_NAMES_free(sans);
  EXPECT_GE(count, 6);
  EXPECT_LE(count, 7);
}

TEST_F(TlsCertificateTest, ExtraNameThatIsNeitherHostNorAddressIsRefused) {
  std::string state = StateDir("state");
  auto id = LoadOrCreateTlsIdentity(state, {}, {"evil.example,IP:10.0.0.1"});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(id.status().message().find("evil.example,IP:10.0.0.1"), std::string::npos) << id.status().message();
  EXPECT_FALSE(std::filesystem::exists(state + "/tls/cert.pem"));
}

TEST_F(TlsCertificateTest, ConfiguredPairIsUsedAsItIs) {
  TlsIdentity made = Generate(StateDir("elsewhere"));
  std::string state = StateDir("state");
  auto id = LoadOrCreateTlsIdentity(state, made.files);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_FALSE(id->generated);
  EXPECT_EQ(id->files.cert_path, made.files.cert_path);
  EXPECT_EQ(id->files.key_path, made.files.key_path);
  EXPECT_EQ(id->fingerprint_sha256, made.fingerprint_sha256);
  EXPECT_FALSE(std::filesystem::exists(state + "/tls"));
}

TEST_F(TlsCertificateTest, ConfiguredKeyOfAnotherCertificateIsRefused) {
  TlsIdentity a = Generate(StateDir("a"));
  TlsIdentity b = Generate(StateDir("b"));
  auto id = LoadOrCreateTlsIdentity(StateDir("state"), {a.files.cert_path, b.files.key_path});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(id.status().message(), b.files.key_path + ": private key does not match certificate " + a.files.cert_path);
}

TEST_F(TlsCertificateTest, GarbagePemIsRefusedNamingTheFile) {
  TlsIdentity good = Generate(StateDir("good"));
  std::string garbage = dir_ + "/garbage.pem";
  ASSERT_TRUE(WriteFileAtomic(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n", 0644).ok());

  auto bad_cert = LoadOrCreateTlsIdentity(StateDir("s1"), {garbage, good.files.key_path});
  ASSERT_FALSE(bad_cert.ok());
  EXPECT_EQ(bad_cert.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(bad_cert.status().message().starts_with(garbage + ": not a PEM certificate"))
      << bad_cert.status().message();

  auto bad_key = LoadOrCreateTlsIdentity(StateDir("s2"), {good.files.cert_path, garbage});
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(bad_key.status().message().starts_with(garbage + ": not a PEM private key"))
      << bad_key.status().message();

  EXPECT_EQ(CertificateFingerprint(garbage).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(TlsCertificateTest, EncryptedConfiguredKeyIsRefused) {
  TlsIdentity good = Generate(StateDir("good"));
  KeyPtr key = ReadKey(good.files.key_path);
  ASSERT_NE(key, nullptr);
  std::string encrypted = dir_ + "/encrypted.pem";
  FILE* f = fopen(encrypted.c_str(), "w");
  ASSERT_NE(f, nullptr);
  static const char kPass[] = "secret";
  ASSERT_EQ(PEM_write_PKCS8PrivateKey(f, key.get(), EVP_aes_256_cbc(), kPass, sizeof(kPass) - 1, nullptr, nullptr), 1);
  fclose(f);
  auto id = LoadOrCreateTlsIdentity(StateDir("state"), {good.files.cert_path, encrypted});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(id.status().message().starts_with(encrypted + ": the private key is encrypted")) << id.status().message();
}

TEST_F(TlsCertificateTest, OnlyOneConfiguredPathIsRefused) {
  TlsIdentity good = Generate(StateDir("good"));
  auto only_cert = LoadOrCreateTlsIdentity(StateDir("s1"), {good.files.cert_path, ""});
  EXPECT_EQ(only_cert.status().code(), ErrorCode::kInvalidArgument);
  auto only_key = LoadOrCreateTlsIdentity(StateDir("s2"), {"", good.files.key_path});
  EXPECT_EQ(only_key.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(only_key.status().message().find("together"), std::string::npos) << only_key.status().message();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/s1/tls"));
}

TEST_F(TlsCertificateTest, MissingConfiguredFileIsNotFound) {
  TlsIdentity good = Generate(StateDir("good"));
  std::string missing = dir_ + "/missing.pem";
  auto id = LoadOrCreateTlsIdentity(StateDir("state"), {missing, good.files.key_path});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(id.status().message().starts_with(missing)) << id.status().message();
}

TEST_F(TlsCertificateTest, LoneCertificateOrKeyIsReplacedByANewPair) {
  std::string state = StateDir("state");
  TlsIdentity first = Generate(state);

  ASSERT_TRUE(std::filesystem::remove(first.files.key_path));
  auto second = LoadOrCreateTlsIdentity(state, {});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->generated);
  EXPECT_NE(second->fingerprint_sha256, first.fingerprint_sha256);
  EXPECT_EQ(ModeOf(second->files.key_path), 0600u);

  ASSERT_TRUE(std::filesystem::remove(second->files.cert_path));
  auto third = LoadOrCreateTlsIdentity(state, {});
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_TRUE(third->generated);
  EXPECT_NE(third->fingerprint_sha256, second->fingerprint_sha256);
  EXPECT_EQ(third->fingerprint_sha256, OpenSslCliFingerprint(third->files.cert_path));
}

TEST_F(TlsCertificateTest, MismatchedStatePairIsCorruptionAndKept) {
  std::string state = StateDir("state");
  TlsIdentity mine = Generate(state);
  TlsIdentity other = Generate(StateDir("other"));
  std::filesystem::copy_file(other.files.key_path, mine.files.key_path,
                             std::filesystem::copy_options::overwrite_existing);
  auto id = LoadOrCreateTlsIdentity(state, {});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(id.status().message().find("private key does not match certificate"), std::string::npos)
      << id.status().message();
  auto still = CertificateFingerprint(mine.files.cert_path);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(*still, mine.fingerprint_sha256);
}

TEST_F(TlsCertificateTest, MissingStateDirIsNotFound) {
  auto id = LoadOrCreateTlsIdentity(dir_ + "/no/such/dir", {});
  EXPECT_EQ(id.status().code(), ErrorCode::kNotFound);
}

// keepsaked's own HTTPS server on 127.0.0.1 with the identity; answers "pong" until destroyed.
class PingServer : public HttpHandler {
 public:
  explicit PingServer(const TlsFiles& files) {
    auto server = HttpServer::Bind("127.0.0.1", 0, files, HttpLimits{}, *this);
    if (!server.ok()) {
      ADD_FAILURE() << server.status().ToString();
      return;
    }
    server_ = std::move(server).value();
    thread_ = std::thread([this] { (void)server_->Run(); });
  }
  ~PingServer() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  BodyPlan Plan(const HttpRequest&) override { return {}; }
  HttpAnswer Handle(HttpRequest&) override { return Text(200, "pong"); }
  HttpAnswer Error(int status, const std::string& message) override { return Text(status, message); }
  static HttpAnswer Text(int status, std::string body) {
    HttpAnswer answer;
    answer.status = status;
    answer.body = std::move(body);
    return answer;
  }

  bool ok() const { return server_ != nullptr; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(server_->port()); }

 private:
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(TlsCertificateTest, ClientTrustingTheCertificateCompletesAHandshake) {
  TlsIdentity id = Generate(StateDir("state"));
  PingServer server(id.files);
  ASSERT_TRUE(server.ok());
  httplib::Client client(server.url());
  client.set_ca_cert_path(id.files.cert_path);
  client.enable_server_certificate_verification(true);
  client.set_connection_timeout(5);
  auto res = client.Get("/ping");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "pong");
}

TEST_F(TlsCertificateTest, ClientTrustingAnotherCertificateIsRefused) {
  TlsIdentity id = Generate(StateDir("state"));
  TlsIdentity other = Generate(StateDir("other"));
  PingServer server(id.files);
  ASSERT_TRUE(server.ok());
  httplib::Client client(server.url());
  client.set_ca_cert_path(other.files.cert_path);
  client.enable_server_certificate_verification(true);
  client.set_connection_timeout(5);
  auto res = client.Get("/ping");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error(), httplib::Error::SSLServerVerification);
}

}  // namespace
}  // namespace keepsake::web
