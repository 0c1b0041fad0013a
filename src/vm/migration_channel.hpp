// The byte stream a migration travels over, and what protects it.
//
// A stream is TLS 1.3 (GnuTLS) unless both ends were told `--insecure`:
//   - a pre-shared key (`--tls-psk FILE`): both ends hold the same key; the
//     handshake is PSK with (EC)DHE, so it authenticates both ends and a
//     recorded stream stays secret if the key leaks later. FILE holds one
//     line, `IDENTITY:HEX` as GnuTLS's psktool writes it, or just `HEX` (the
//     identity is then "vessel"); at least 16 bytes of key;
//   - certificates (`--tls-cert FILE --tls-key FILE --tls-ca FILE`, PEM): each
//     end presents its certificate and checks the other's against the CA;
//     the source also checks that the destination's certificate names the
//     HOST it connects to (a DNS name or an IP address in subjectAltName).
// A wrong key or an untrusted certificate ends the handshake on both sides
// with one line; nothing of the migration protocol is read or sent before it
// has succeeded.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vessel {

struct MigrationSecurity {
  enum class Mode { kUnset, kInsecure, kPsk, kCertificate };
  Mode mode = Mode::kUnset;
  std::string psk_identity;      // kPsk
  std::vector<uint8_t> psk_key;  // kPsk
  std::string cert_pem;          // kCertificate: this end's certificate (chain)
  std::string key_pem;           // kCertificate: its private key
  std::string ca_pem;            // kCertificate: who may be at the other end
};

// The options both `ctl migrate` and `receive` take, as given.
struct MigrationSecurityFiles {
  std::string psk;
  std::string cert;
  std::string key;
  std::string ca;
  bool insecure = false;
};

// Reads the files (each a regular file of at most 64 KiB) and checks that
// exactly one way was chosen. Throws Error, one line prefixed with `who`
// ("receive", "migrate"); the line names files, never their contents.
MigrationSecurity load_migration_security(const MigrationSecurityFiles& files,
                                          std::string_view who);

// A key file's text (see above) → identity and key. Throws Error.
void parse_psk(std::string_view text, std::string_view file, MigrationSecurity& out);

// The control socket carries the credentials from `vessel ctl` to the VM,
// which then opens no file a request names. Fields: "insecure": true, or
// "tls_psk": "IDENTITY:HEX", or "tls_cert"/"tls_key"/"tls_ca": PEM text.
void migration_security_to_request(const MigrationSecurity& security, nlohmann::json& request);
// Throws Error if the request names no way, or more than one.
MigrationSecurity migration_security_from_request(const nlohmann::json& request);

// A connected stream. Both ends use it from one thread at a time.
class MigrationChannel {
 public:
  virtual ~MigrationChannel() = default;
  // Sends every byte of `pieces`, in order. Throws Error ("migration
  // stream: ...") if the peer is gone or stops reading (SO_SNDTIMEO).
  virtual void send(std::span<const std::span<const uint8_t>> pieces) = 0;
  // Reads up to `len` bytes: the count, 0 at the end of the stream, or
  // -errno (-EAGAIN once SO_RCVTIMEO expired, -ECONNRESET, ...). Throws Error
  // for a record that fails authentication.
  virtual ssize_t receive(uint8_t* out, size_t len) = 0;
};

// Plain TCP over `fd` (which stays the caller's).
std::unique_ptr<MigrationChannel> plain_channel(int fd);

enum class TlsRole { kClient, kServer };

// Runs the TLS handshake over `fd` (connected, SO_RCVTIMEO/SO_SNDTIMEO set;
// it stays the caller's) as `role`, or returns a plain channel for kInsecure.
// `server_name` is the host the client connected to (certificate checks);
// `peer` names the other end in errors. Throws Error (one line) if the
// handshake fails.
std::unique_ptr<MigrationChannel> open_migration_channel(int fd, const MigrationSecurity& security,
                                                         TlsRole role,
                                                         const std::string& server_name,
                                                         std::string_view peer);

// "TLS 1.3 (PSK)", "TLS 1.3 (certificates)", "plain TCP (--insecure)".
std::string describe_security(const MigrationSecurity& security);

}  // namespace vessel
