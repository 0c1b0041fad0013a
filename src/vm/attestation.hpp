// Attestation quotes: a VM's launch digest (vm/launch_digest.hpp) and a
// nonce from whoever asks, signed with the host's Ed25519 key (`vessel run
// --measure --attest-key FILE`, then `vessel ctl SOCK attest NONCE`), and
// their check (`vessel verify`).
//
// A quote is one JSON object:
//   {"format":"vessel-quote-v1", "digest":"sha256:<64 hex>", "nonce":"<text>",
//    "signature":"<128 hex>", "public_key":"<PEM>"}
// The signature is Ed25519 over the framed items (8-byte little-endian
// length, then the bytes, as in the launch digest) "vessel-quote-v1", the 32
// digest bytes and the nonce. "public_key" says which key signed; a verifier
// trusts the key it was given, not that one.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/crypto.hpp"
#include "vm/launch_digest.hpp"

namespace vessel {

inline constexpr std::string_view kQuoteFormat = "vessel-quote-v1";
inline constexpr size_t kMaxNonce = 256;
inline constexpr size_t kMaxQuoteBytes = 64 * 1024;

// A nonce is up to kMaxNonce printable ASCII characters (so it survives
// JSON and a terminal unchanged; hex or base64 fit). Throws Error otherwise.
void check_nonce(std::string_view nonce);

// The bytes that are signed.
std::vector<uint8_t> quote_message(const Sha256Digest& digest, std::string_view nonce);

nlohmann::json make_quote(const Sha256Digest& digest, std::string_view nonce,
                          const crypto::Ed25519Key& key);

struct QuoteCheck {
  Sha256Digest expected;
  std::optional<std::string> nonce;  // checked when given
};

// Checks a quote's text: well-formed, signed by `key`, the expected digest,
// the nonce if one is expected. Returns the nonce it carries; throws Error
// with one line saying what is wrong (in that order: malformed, signature,
// digest, nonce).
std::string verify_quote(std::string_view text, const crypto::Ed25519Key& key,
                         const QuoteCheck& check);

}  // namespace vessel
