#include "vm/attestation.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace vessel {

namespace {

std::string string_field(const nlohmann::json& quote, const char* name) {
  const auto it = quote.find(name);
  if (it == quote.end() || !it->is_string()) {
    fail("not a quote: \"{}\" is missing or not a string", name);
  }
  return it->get<std::string>();
}

// Whether the quote names a signer other than `key` (for a clearer message;
// the signature decides either way).
bool names_another_key(const nlohmann::json& quote, const crypto::Ed25519Key& key) {
  const auto it = quote.find("public_key");
  if (it == quote.end() || !it->is_string()) return false;
  try {
    const auto named = crypto::Ed25519Key::from_public_pem(it->get<std::string>(), "quote");
    return named.public_raw() != key.public_raw();
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

void check_nonce(std::string_view nonce) {
  if (nonce.size() > kMaxNonce) fail("the nonce is {} bytes, at most {}", nonce.size(), kMaxNonce);
  const auto printable = [](char c) { return c >= 0x20 && c <= 0x7e; };
  if (!std::all_of(nonce.begin(), nonce.end(), printable)) {
    fail("the nonce may hold only printable ASCII characters");
  }
}

std::vector<uint8_t> quote_message(const Sha256Digest& digest, std::string_view nonce) {
  std::vector<uint8_t> message;
  crypto::append_framed(message, kQuoteFormat);
  crypto::append_framed(message, digest);
  crypto::append_framed(message, nonce);
  return message;
}

nlohmann::json make_quote(const Sha256Digest& digest, std::string_view nonce,
                          const crypto::Ed25519Key& key) {
  check_nonce(nonce);
  return {{"format", kQuoteFormat},
          {"digest", format_digest(digest)},
          {"nonce", nonce},
          {"signature", crypto::to_hex(key.sign(quote_message(digest, nonce)))},
          {"public_key", key.public_pem()}};
}

std::string verify_quote(std::string_view text, const crypto::Ed25519Key& key,
                         const QuoteCheck& check) {
  if (text.size() > kMaxQuoteBytes) fail("not a quote: larger than {} bytes", kMaxQuoteBytes);
  const nlohmann::json quote = nlohmann::json::parse(text, nullptr, false);
  if (quote.is_discarded() || !quote.is_object()) fail("not a quote: not a JSON object");
  const std::string format = string_field(quote, "format");
  if (format != kQuoteFormat) fail("not a quote: format '{}', expected {}", format, kQuoteFormat);
  const std::string digest_text = string_field(quote, "digest");
  const auto digest = parse_digest(digest_text);
  if (!digest || !digest_text.starts_with("sha256:")) {
    fail("not a quote: \"digest\" is not sha256: and 64 hex digits");
  }
  const std::string nonce = string_field(quote, "nonce");
  try {
    check_nonce(nonce);
  } catch (const Error& e) {
    fail("not a quote: {}", e.what());
  }
  const auto signature = crypto::from_hex(string_field(quote, "signature"));
  if (!signature) fail("not a quote: \"signature\" is not hex");
  if (signature->size() != crypto::kEd25519SignatureSize) {
    fail("bad signature: {} bytes, an Ed25519 signature has {}", signature->size(),
         crypto::kEd25519SignatureSize);
  }
  if (!key.verify(quote_message(*digest, nonce), *signature)) {
    if (names_another_key(quote, key)) fail("bad signature: the quote was signed by another key");
    fail("bad signature: the quote was changed after it was signed, or not signed by this key");
  }
  if (*digest != check.expected) {
    fail("wrong launch digest: the quote has {}, expected {}", format_digest(*digest),
         format_digest(check.expected));
  }
  if (check.nonce && nonce != *check.nonce) {
    fail("wrong nonce: the quote has '{}', expected '{}'", nonce, *check.nonce);
  }
  return nonce;
}

}  // namespace vessel
