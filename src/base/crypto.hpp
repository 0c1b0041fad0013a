// The cryptography vessel uses, through OpenSSL 3's EVP interface (no
// hand-written primitives): SHA-256 for the launch digest (vm/launch_digest),
// Ed25519 (RFC 8032, pure: the message is signed, not a hash of it) for
// attestation quotes (vm/attestation). Errors become vessel::Error with one
// line; OpenSSL's per-thread error queue is emptied on the way.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// OpenSSL's types, so this header does not pull in its headers.
struct evp_md_ctx_st;
struct evp_pkey_st;

namespace vessel::crypto {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::span<const uint8_t> bytes);
  void update(std::string_view text);
  // The length as 8 bytes little-endian, then the bytes: a sequence of
  // framed items has one reading only, so moving a byte from the end of one
  // item to the start of the next changes what is hashed.
  void update_framed(std::span<const uint8_t> bytes);
  void update_framed(std::string_view text);
  // The digest; the object is spent afterwards.
  Sha256Digest finish();

 private:
  evp_md_ctx_st* ctx_;
};

// The same framing into a buffer (for messages that are signed).
void append_framed(std::vector<uint8_t>& out, std::span<const uint8_t> bytes);
void append_framed(std::vector<uint8_t>& out, std::string_view text);

// Lower-case hex; from_hex takes either case and refuses an odd length or
// any other character.
std::string to_hex(std::span<const uint8_t> bytes);
std::optional<std::vector<uint8_t>> from_hex(std::string_view text);

inline constexpr size_t kEd25519SignatureSize = 64;
inline constexpr size_t kEd25519PublicKeySize = 32;

// An Ed25519 key: a private key (which holds its public half) or a public
// key alone.
class Ed25519Key {
 public:
  // A PEM private key ("-----BEGIN PRIVATE KEY-----", as made by
  // `openssl genpkey -algorithm ed25519`). `what` names it in errors. Throws
  // Error for anything else: another algorithm, a passphrase-protected key
  // (vessel does not prompt), text that is not PEM.
  static Ed25519Key from_private_pem(std::string_view pem, const std::string& what);
  // A PEM public key ("-----BEGIN PUBLIC KEY-----", `openssl pkey -pubout`).
  static Ed25519Key from_public_pem(std::string_view pem, const std::string& what);
  // A fresh private key (tests).
  static Ed25519Key generate();

  ~Ed25519Key();
  Ed25519Key(Ed25519Key&& other) noexcept;
  Ed25519Key& operator=(Ed25519Key&& other) noexcept;
  Ed25519Key(const Ed25519Key&) = delete;
  Ed25519Key& operator=(const Ed25519Key&) = delete;

  bool has_private() const { return private_; }
  // Needs the private key; throws Error otherwise.
  std::array<uint8_t, kEd25519SignatureSize> sign(std::span<const uint8_t> message) const;
  // False for a bad signature of any length, never throws for one.
  bool verify(std::span<const uint8_t> message, std::span<const uint8_t> signature) const;
  std::array<uint8_t, kEd25519PublicKeySize> public_raw() const;
  std::string public_pem() const;

 private:
  Ed25519Key(evp_pkey_st* key, bool has_private) : key_(key), private_(has_private) {}

  evp_pkey_st* key_;
  bool private_;
};

}  // namespace vessel::crypto
