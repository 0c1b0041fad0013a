// The crypto wrappers (SHA-256 and Ed25519 through OpenSSL, checked against
// published vectors) and attestation quotes: made, verified, and refused
// when crafted badly.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/crypto.hpp"
#include "base/error.hpp"
#include "vm/attestation.hpp"

namespace vessel {
namespace {

using crypto::Ed25519Key;

// RFC 8032 section 7.1, TEST 1: the secret key as PKCS#8 PEM, its public key,
// and the signature of the empty message.
constexpr char kRfcPrivatePem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr char kRfcPublicPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kRfcSignature[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
    "b46bd25bf5f0595bbe24655141438e7a100b";

std::string expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

// Some other algorithm's key, as PEM, optionally encrypted.
std::string other_pem(const char* type, const char* param, const char* passphrase = nullptr) {
  EVP_PKEY* key = param != nullptr ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, param)
                                   : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  BIO* bio = BIO_new(BIO_s_mem());
  const EVP_CIPHER* cipher = passphrase != nullptr ? EVP_aes_256_cbc() : nullptr;
  PEM_write_bio_PKCS8PrivateKey(bio, key, cipher, nullptr, 0, nullptr,
                                const_cast<char*>(passphrase));
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

TEST(Crypto, Sha256KnownAnswers) {
  crypto::Sha256 abc;
  abc.update(std::string_view("abc"));
  EXPECT_EQ(crypto::to_hex(abc.finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Pieces hash as their concatenation; framing adds the 8-byte length.
  crypto::Sha256 pieces, whole, framed, by_hand;
  pieces.update(std::string_view("ab"));
  pieces.update(std::string_view("c"));
  whole.update(std::string_view("abc"));
  EXPECT_EQ(pieces.finish(), whole.finish());
  framed.update_framed(std::string_view("abc"));
  by_hand.update(std::vector<uint8_t>{3, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 'c'});
  EXPECT_EQ(framed.finish(), by_hand.finish());
  std::vector<uint8_t> buffer;
  crypto::append_framed(buffer, std::string_view("abc"));
  EXPECT_EQ(buffer, (std::vector<uint8_t>{3, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 'c'}));
}

TEST(Crypto, Hex) {
  EXPECT_EQ(crypto::to_hex(std::vector<uint8_t>{0x00, 0xab, 0xff}), "00abff");
  EXPECT_EQ(crypto::from_hex("00ABff"), (std::vector<uint8_t>{0x00, 0xab, 0xff}));
  EXPECT_EQ(crypto::from_hex(""), std::vector<uint8_t>{});
  for (const char* bad : {"0", "abc", "0g", " 00", "00 ", "+1", "0x00"}) {
    EXPECT_FALSE(crypto::from_hex(bad).has_value()) << bad;
  }
}

TEST(Crypto, Ed25519MatchesRfc8032) {
  const Ed25519Key key = Ed25519Key::from_private_pem(kRfcPrivatePem, "rfc");
  EXPECT_TRUE(key.has_private());
  EXPECT_EQ(crypto::to_hex(key.public_raw()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(crypto::to_hex(key.sign({})), kRfcSignature);
  EXPECT_EQ(key.public_pem(), kRfcPublicPem);
  const Ed25519Key pub = Ed25519Key::from_public_pem(kRfcPublicPem, "rfc.pub");
  EXPECT_FALSE(pub.has_private());
  EXPECT_TRUE(pub.verify({}, *crypto::from_hex(kRfcSignature)));
  EXPECT_THROW(pub.sign({}), Error);
}

TEST(Crypto, Ed25519RefusesBadSignatures) {
  const Ed25519Key key = Ed25519Key::generate();
  const std::vector<uint8_t> message = {'h', 'i'};
  const auto signature = key.sign(message);
  EXPECT_TRUE(key.verify(message, signature));
  std::vector<uint8_t> changed(signature.begin(), signature.end());
  changed[10] ^= 1;
  EXPECT_FALSE(key.verify(message, changed));
  EXPECT_FALSE(key.verify(message, std::span(signature).first(63)));
  EXPECT_FALSE(key.verify(message, {}));
  EXPECT_FALSE(key.verify(std::vector<uint8_t>{'h', 'o'}, signature));
  EXPECT_FALSE(Ed25519Key::generate().verify(message, signature));
}

TEST(Crypto, KeyFilesOfTheWrongKind) {
  EXPECT_NE(expect_error([] {
              Ed25519Key::from_private_pem("not a key", "k.pem");
            }).find("k.pem: not a PEM private key"),
            std::string::npos);
  EXPECT_NE(expect_error([] { Ed25519Key::from_private_pem("", "k.pem"); }).find("not a PEM"),
            std::string::npos);
  // A public key where the private one belongs, and the other way round.
  EXPECT_THROW(Ed25519Key::from_private_pem(kRfcPublicPem, "k"), Error);
  EXPECT_THROW(Ed25519Key::from_public_pem(kRfcPrivatePem, "k"), Error);
  EXPECT_NE(expect_error([] {
              Ed25519Key::from_private_pem(other_pem("EC", "P-256"), "ec.pem");
            }).find("ec.pem: not an Ed25519 key"),
            std::string::npos);
  EXPECT_THROW(Ed25519Key::from_private_pem(other_pem("X25519", nullptr), "x"), Error);
  // An encrypted key fails instead of prompting for its passphrase.
  const std::string encrypted = other_pem("ED25519", nullptr, "secret");
  ASSERT_NE(encrypted.find("ENCRYPTED"), std::string::npos);
  EXPECT_THROW(Ed25519Key::from_private_pem(encrypted, "enc.pem"), Error);
}

class QuoteTest : public ::testing::Test {
 protected:
  QuoteTest() : key_(Ed25519Key::generate()) {
    digest_.fill(0x42);
    quote_ = make_quote(digest_, "nonce-1", key_);
  }

  // verify_quote on `quote` against this key; the error, or "" when it passes.
  std::string check(const nlohmann::json& quote, std::optional<std::string> nonce = "nonce-1",
                    const Ed25519Key* key = nullptr) {
    return check_text(quote.dump(), nonce, key);
  }
  std::string check_text(const std::string& text, std::optional<std::string> nonce = "nonce-1",
                         const Ed25519Key* key = nullptr) {
    try {
      verify_quote(text, key != nullptr ? *key : key_, {digest_, std::move(nonce)});
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  }

  Ed25519Key key_;
  Sha256Digest digest_{};
  nlohmann::json quote_;
};

TEST_F(QuoteTest, GoodQuoteVerifies) {
  EXPECT_EQ(quote_["format"], "vessel-quote-v1");
  EXPECT_EQ(quote_["digest"], format_digest(digest_));
  EXPECT_EQ(quote_["nonce"], "nonce-1");
  EXPECT_EQ(quote_["signature"].get<std::string>().size(), 128u);
  EXPECT_EQ(quote_["public_key"], key_.public_pem());
  EXPECT_EQ(check(quote_), "");
  EXPECT_EQ(check(quote_, std::nullopt), "");  // no nonce expected: any nonce
  // The key the verifier trusts can come from its PEM alone.
  const Ed25519Key pub = Ed25519Key::from_public_pem(key_.public_pem(), "pub");
  EXPECT_EQ(check(quote_, "nonce-1", &pub), "");
  EXPECT_EQ(verify_quote(quote_.dump(), pub, {digest_, std::nullopt}), "nonce-1");
  // An empty nonce is a nonce too.
  EXPECT_EQ(check(make_quote(digest_, "", key_), ""), "");
}

TEST_F(QuoteTest, WrongKey) {
  const Ed25519Key other = Ed25519Key::generate();
  EXPECT_EQ(check(quote_, "nonce-1", &other), "bad signature: the quote was signed by another key");
  // A quote that claims the verifier's key but was signed by another.
  nlohmann::json forged = make_quote(digest_, "nonce-1", other);
  forged["public_key"] = key_.public_pem();
  EXPECT_EQ(check(forged),
            "bad signature: the quote was changed after it was signed, or not signed by this key");
}

TEST_F(QuoteTest, ChangedAfterSigning) {
  nlohmann::json q = quote_;
  Sha256Digest other = digest_;
  other[31] ^= 1;
  q["digest"] = format_digest(other);
  EXPECT_TRUE(check(q).starts_with("bad signature")) << check(q);
  q = quote_;
  q["nonce"] = "nonce-2";
  EXPECT_TRUE(check(q, "nonce-2").starts_with("bad signature"));
  q = quote_;
  std::string sig = q["signature"];
  sig[5] = sig[5] == '0' ? '1' : '0';
  q["signature"] = sig;
  EXPECT_TRUE(check(q).starts_with("bad signature"));
}

TEST_F(QuoteTest, TruncatedOrMangledSignature) {
  nlohmann::json q = quote_;
  const std::string sig = quote_["signature"];
  q["signature"] = sig.substr(0, 126);
  EXPECT_EQ(check(q), "bad signature: 63 bytes, an Ed25519 signature has 64");
  q["signature"] = "";
  EXPECT_EQ(check(q), "bad signature: 0 bytes, an Ed25519 signature has 64");
  q["signature"] = sig + "00";
  EXPECT_TRUE(check(q).starts_with("bad signature: 65 bytes"));
  q["signature"] = sig.substr(0, 127);
  EXPECT_EQ(check(q), "not a quote: \"signature\" is not hex");
  q["signature"] = "zz" + sig.substr(2);
  EXPECT_EQ(check(q), "not a quote: \"signature\" is not hex");
}

TEST_F(QuoteTest, WrongDigestOrNonce) {
  Sha256Digest other{};
  other.fill(0x43);
  const nlohmann::json q = make_quote(other, "nonce-1", key_);
  EXPECT_EQ(check(q), "wrong launch digest: the quote has " + format_digest(other) + ", expected " +
                          format_digest(digest_));
  EXPECT_EQ(check(quote_, "nonce-2"), "wrong nonce: the quote has 'nonce-1', expected 'nonce-2'");
  EXPECT_EQ(check(quote_, ""), "wrong nonce: the quote has 'nonce-1', expected ''");
}

TEST_F(QuoteTest, MalformedFiles) {
  const std::string text = quote_.dump();
  EXPECT_EQ(check_text(""), "not a quote: not a JSON object");
  EXPECT_EQ(check_text("{"), "not a quote: not a JSON object");
  EXPECT_EQ(check_text(text.substr(0, text.size() / 2)), "not a quote: not a JSON object");
  EXPECT_EQ(check_text("[1,2]"), "not a quote: not a JSON object");
  EXPECT_EQ(check_text("\"quote\""), "not a quote: not a JSON object");
  EXPECT_EQ(check_text(std::string(70000, ' ') + text), "not a quote: larger than 65536 bytes");
  for (const char* field : {"format", "digest", "nonce", "signature"}) {
    nlohmann::json q = quote_;
    q.erase(field);
    EXPECT_EQ(check(q), fmt::format("not a quote: \"{}\" is missing or not a string", field));
    q[field] = 7;
    EXPECT_EQ(check(q), fmt::format("not a quote: \"{}\" is missing or not a string", field));
  }
  nlohmann::json q = quote_;
  q["format"] = "vessel-quote-v2";
  EXPECT_EQ(check(q), "not a quote: format 'vessel-quote-v2', expected vessel-quote-v1");
  for (const std::string& digest :
       {crypto::to_hex(digest_), std::string("sha256:00"), std::string("sha256:") + "xy"}) {
    q = quote_;
    q["digest"] = digest;
    EXPECT_EQ(check(q), "not a quote: \"digest\" is not sha256: and 64 hex digits") << digest;
  }
  q = quote_;
  q["nonce"] = "line\nbreak";
  EXPECT_TRUE(check(q).starts_with("not a quote: the nonce may hold only printable"));
  // Without a public key the quote still verifies: the verifier's key decides.
  q = quote_;
  q.erase("public_key");
  EXPECT_EQ(check(q), "");
}

TEST(Nonce, PrintableAsciiUpToALimit) {
  EXPECT_NO_THROW(check_nonce(""));
  EXPECT_NO_THROW(check_nonce("0123abcdef+/= ~"));
  EXPECT_NO_THROW(check_nonce(std::string(kMaxNonce, 'a')));
  EXPECT_THROW(check_nonce(std::string(kMaxNonce + 1, 'a')), Error);
  EXPECT_THROW(check_nonce("tab\there"), Error);
  EXPECT_THROW(check_nonce("\xc3\xa9"), Error);
  EXPECT_THROW(check_nonce(std::string("nul\0", 4)), Error);
  EXPECT_THROW(make_quote(Sha256Digest{}, "bad\n", Ed25519Key::generate()), Error);
}

// The signed message is the framed format, digest and nonce: a nonce cannot
// borrow bytes from the digest.
TEST(QuoteMessage, IsFramed) {
  Sha256Digest d{};
  const std::vector<uint8_t> m = quote_message(d, "ab");
  std::vector<uint8_t> want;
  crypto::append_framed(want, std::string_view("vessel-quote-v1"));
  crypto::append_framed(want, d);
  crypto::append_framed(want, std::string_view("ab"));
  EXPECT_EQ(m, want);
  EXPECT_EQ(m.size(), 8 + 15 + 8 + 32 + 8 + 2u);
}

}  // namespace
}  // namespace vessel
