#include "base/crypto.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <climits>
#include <utility>

#include "base/error.hpp"

namespace vessel::crypto {
namespace {

// The oldest reason OpenSSL queued, then an empty queue: a failure here must
// not be reported again by the next OpenSSL call on this thread.
std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "OpenSSL error " + std::to_string(code);
}

[[noreturn]] void openssl_fail(const char* what) {
  fail("{}: {}", what, openssl_reason());
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using UniqueBio = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using UniqueMdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

UniqueBio memory_bio(std::string_view text) {
  if (text.size() > INT_MAX) fail("key text too large");
  UniqueBio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) openssl_fail("cannot read key text");
  return bio;
}

// PEM_read_bio_* would prompt on the terminal for the passphrase of an
// encrypted key; this callback says there is none, so such a key fails.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) {
  return -1;
}

EVP_PKEY* checked_ed25519(EVP_PKEY* key, const std::string& what, const char* kind) {
  if (key == nullptr) {
    ERR_clear_error();
    fail("{}: not a PEM {} (want an unencrypted Ed25519 key: openssl genpkey -algorithm ed25519)",
         what, kind);
  }
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    fail("{}: not an Ed25519 key (make one with: openssl genpkey -algorithm ed25519)", what);
  }
  return key;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::array<uint8_t, 8> length_le(size_t size) {
  std::array<uint8_t, 8> out{};
  for (unsigned i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(uint64_t{size} >> (8 * i));
  return out;
}

std::span<const uint8_t> as_bytes(std::string_view text) {
  // SAFETY: reads the characters of `text` as the bytes they are.
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    openssl_fail("SHA-256");
  }
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(ctx_);
}

void Sha256::update(std::span<const uint8_t> bytes) {
  if (!bytes.empty() && EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1) {
    openssl_fail("SHA-256");
  }
}

void Sha256::update(std::string_view text) {
  update(as_bytes(text));
}

void Sha256::update_framed(std::span<const uint8_t> bytes) {
  update(length_le(bytes.size()));
  update(bytes);
}

void Sha256::update_framed(std::string_view text) {
  update_framed(as_bytes(text));
}

Sha256Digest Sha256::finish() {
  Sha256Digest digest{};
  unsigned size = 0;
  if (EVP_DigestFinal_ex(ctx_, digest.data(), &size) != 1 || size != digest.size()) {
    openssl_fail("SHA-256");
  }
  return digest;
}

void append_framed(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  const auto length = length_le(bytes.size());
  out.insert(out.end(), length.begin(), length.end());
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void append_framed(std::vector<uint8_t>& out, std::string_view text) {
  append_framed(out, as_bytes(text));
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    text += kDigits[b >> 4];
    text += kDigits[b & 15];
  }
  return text;
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int high = hex_value(text[i]);
    const int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes.push_back(static_cast<uint8_t>(high << 4 | low));
  }
  return bytes;
}

Ed25519Key Ed25519Key::from_private_pem(std::string_view pem, const std::string& what) {
  const UniqueBio bio = memory_bio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  return Ed25519Key(checked_ed25519(key, what, "private key"), true);
}

Ed25519Key Ed25519Key::from_public_pem(std::string_view pem, const std::string& what) {
  const UniqueBio bio = memory_bio(pem);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr);
  return Ed25519Key(checked_ed25519(key, what, "public key"), false);
}

Ed25519Key Ed25519Key::generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) openssl_fail("cannot generate an Ed25519 key");
  return Ed25519Key(key, true);
}

Ed25519Key::~Ed25519Key() {
  EVP_PKEY_free(key_);
}

Ed25519Key::Ed25519Key(Ed25519Key&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)), private_(other.private_) {}

Ed25519Key& Ed25519Key::operator=(Ed25519Key&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(other.key_, nullptr);
    private_ = other.private_;
  }
  return *this;
}

std::array<uint8_t, kEd25519SignatureSize> Ed25519Key::sign(
    std::span<const uint8_t> message) const {
  if (!private_) fail("cannot sign with a public key");
  const UniqueMdCtx ctx(EVP_MD_CTX_new());
  std::array<uint8_t, kEd25519SignatureSize> signature{};
  size_t size = signature.size();
  // Ed25519 takes no digest of its own: the message goes in whole.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &size, message.data(), message.size()) != 1 ||
      size != signature.size()) {
    openssl_fail("cannot sign");
  }
  return signature;
}

bool Ed25519Key::verify(std::span<const uint8_t> message,
                        std::span<const uint8_t> signature) const {
  if (signature.size() != kEd25519SignatureSize) return false;
  const UniqueMdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_) != 1) {
    openssl_fail("cannot verify");
  }
  const bool good = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                                     message.size()) == 1;
  ERR_clear_error();  // a bad signature queues a reason nobody reads
  return good;
}

std::array<uint8_t, kEd25519PublicKeySize> Ed25519Key::public_raw() const {
  std::array<uint8_t, kEd25519PublicKeySize> raw{};
  size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(key_, raw.data(), &size) != 1 || size != raw.size()) {
    openssl_fail("cannot read the public key");
  }
  return raw;
}

std::string Ed25519Key::public_pem() const {
  const UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_) != 1) openssl_fail("cannot write public key");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace vessel::crypto
