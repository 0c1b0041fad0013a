#include "vm/migration_channel.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "base/crypto.hpp"
#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace vessel {

namespace {

constexpr uint64_t kMaxCredentialFileBytes = 64 << 10;
constexpr size_t kMinPskBytes = 16;
constexpr size_t kMaxPskBytes = 256;
constexpr int kHandshakeTimeoutMs = 30'000;
constexpr const char* kDefaultPskIdentity = "vessel";

// TLS 1.3 only. With a pre-shared key, only the PSK modes with an (EC)DHE
// exchange: a stream recorded today stays secret if the key leaks later.
// AES-GCM first: GnuTLS ties an external key to SHA-256, which rules out
// NORMAL's first choice (AES-256-GCM-SHA384), and its next, ChaCha20, runs
// at a twentieth of AES-NI's speed (266 against 4657 MiB/s here), slower
// than the stream itself.
constexpr const char* kPskPriorities =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK:+DHE-PSK:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305";
constexpr const char* kCertificatePriorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3";

std::string read_credential_file(const std::string& path, std::string_view who,
                                 std::string_view option) {
  if (path.empty()) fail("{}: {} needs a file name", who, option);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) fail("{}: {} {}: {}", who, option, path, errno_text(errno));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) fail("{}: {} {}: {}", who, option, path, errno_text(errno));
  if (!S_ISREG(st.st_mode)) fail("{}: {} {} is not a regular file", who, option, path);
  if (static_cast<uint64_t>(st.st_size) > kMaxCredentialFileBytes) {
    fail("{}: {} {} is larger than {} KiB", who, option, path, kMaxCredentialFileBytes >> 10);
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("{}: {} {}: {}", who, option, path, errno_text(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

gnutls_datum_t datum(std::string_view text) {
  // SAFETY: GnuTLS only reads through these datums (the *_mem functions copy).
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
          static_cast<unsigned>(text.size())};
}

void check_tls(int rc, std::string_view what) {
  if (rc < 0) fail("TLS set-up: {}: {}", what, gnutls_strerror(rc));
}

bool is_ip_address(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

// The GnuTLS credentials for one end, freed however the handshake ends.
class Credentials {
 public:
  Credentials(const MigrationSecurity& security, TlsRole role)
      : role_(role), psk_identity_(security.psk_identity), psk_key_(security.psk_key) {
    if (security.mode == MigrationSecurity::Mode::kPsk) {
      if (role == TlsRole::kClient) {
        check_tls(gnutls_psk_allocate_client_credentials(&psk_client_), "PSK credentials");
        const gnutls_datum_t key{const_cast<unsigned char*>(security.psk_key.data()),
                                 static_cast<unsigned>(security.psk_key.size())};
        check_tls(gnutls_psk_set_client_credentials(psk_client_, security.psk_identity.c_str(),
                                                    &key, GNUTLS_PSK_KEY_RAW),
                  "PSK key");
      } else {
        check_tls(gnutls_psk_allocate_server_credentials(&psk_server_), "PSK credentials");
        gnutls_psk_set_server_credentials_function(psk_server_, &Credentials::lookup_psk);
      }
      return;
    }
    check_tls(gnutls_certificate_allocate_credentials(&certs_), "certificate credentials");
    const gnutls_datum_t cert = datum(security.cert_pem);
    const gnutls_datum_t key = datum(security.key_pem);
    const int rc = gnutls_certificate_set_x509_key_mem(certs_, &cert, &key, GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
      fail("--tls-cert/--tls-key: not a PEM certificate and its private key: {}",
           gnutls_strerror(rc));
    }
    const gnutls_datum_t ca = datum(security.ca_pem);
    const int cas = gnutls_certificate_set_x509_trust_mem(certs_, &ca, GNUTLS_X509_FMT_PEM);
    if (cas <= 0) {
      fail("--tls-ca: no PEM certificate in it{}{}", cas < 0 ? ": " : "",
           cas < 0 ? gnutls_strerror(cas) : "");
    }
  }
  ~Credentials() {
    if (psk_client_ != nullptr) gnutls_psk_free_client_credentials(psk_client_);
    if (psk_server_ != nullptr) gnutls_psk_free_server_credentials(psk_server_);
    if (certs_ != nullptr) gnutls_certificate_free_credentials(certs_);
  }
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;

  // Puts these credentials and the priorities on `session`, whose pointer
  // (gnutls_session_set_ptr) is this object.
  void apply(gnutls_session_t session, const std::string& server_name) const {
    const char* error_at = nullptr;
    if (psk_client_ != nullptr || psk_server_ != nullptr) {
      check_tls(gnutls_priority_set_direct(session, kPskPriorities, &error_at), "priorities");
      check_tls(psk_client_ != nullptr
                    ? gnutls_credentials_set(session, GNUTLS_CRD_PSK, psk_client_)
                    : gnutls_credentials_set(session, GNUTLS_CRD_PSK, psk_server_),
                "PSK credentials");
      return;
    }
    check_tls(gnutls_priority_set_direct(session, kCertificatePriorities, &error_at), "priorities");
    check_tls(gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, certs_), "certificates");
    if (role_ == TlsRole::kServer) {
      // Mutual: the source must show a certificate the CA signed.
      gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
      gnutls_session_set_verify_cert(session, nullptr, 0);
    } else {
      if (!server_name.empty() && !is_ip_address(server_name)) {
        check_tls(gnutls_server_name_set(session, GNUTLS_NAME_DNS, server_name.data(),
                                         server_name.size()),
                  "server name");
      }
      gnutls_session_set_verify_cert(session, server_name.c_str(), 0);
    }
  }

 private:
  // The server's side of PSK: the key for the identity the client named.
  static int lookup_psk(gnutls_session_t session, const char* identity, gnutls_datum_t* key) {
    const auto* self = static_cast<const Credentials*>(gnutls_session_get_ptr(session));
    if (self == nullptr || identity == nullptr || self->psk_identity_ != identity) {
      return -1;  // unknown identity: the handshake fails
    }
    const std::vector<uint8_t>& k = self->psk_key_;
    key->data = static_cast<unsigned char*>(gnutls_malloc(k.size()));
    if (key->data == nullptr) return -1;
    std::memcpy(key->data, k.data(), k.size());
    key->size = static_cast<unsigned>(k.size());
    return 0;
  }

  TlsRole role_;
  std::string psk_identity_;
  std::vector<uint8_t> psk_key_;
  gnutls_psk_client_credentials_t psk_client_ = nullptr;
  gnutls_psk_server_credentials_t psk_server_ = nullptr;
  gnutls_certificate_credentials_t certs_ = nullptr;
};

// Sends every byte of `iov`, continuing after short sends and EINTR; 0 or
// the errno that stopped it. MSG_NOSIGNAL: a peer that went away is an
// error here, not a SIGPIPE.
int write_all(int fd, iovec* iov, int count) {
  while (count > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    size_t left = static_cast<size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return 0;
}

[[noreturn]] void send_failed(int err) {
  if (err == EAGAIN || err == EWOULDBLOCK) {
    fail("migration stream: send timed out (the peer stopped reading)");
  }
  if (err == EPIPE || err == ECONNRESET) fail("migration stream: connection closed by the peer");
  fail("migration stream: send failed: {}", errno_text(err));
}

class PlainChannel final : public MigrationChannel {
 public:
  explicit PlainChannel(int fd) : fd_(fd) {}

  void send(std::span<const std::span<const uint8_t>> pieces) override {
    constexpr size_t kMaxPieces = 4;
    if (pieces.size() > kMaxPieces) fail("migration stream: too many pieces in one send");
    iovec iov[kMaxPieces];
    int count = 0;
    for (const auto piece : pieces) {
      if (piece.empty()) continue;
      iov[count++] = {const_cast<uint8_t*>(piece.data()), piece.size()};
    }
    if (const int err = write_all(fd_, iov, count); err != 0) send_failed(err);
  }

  ssize_t receive(uint8_t* out, size_t len) override {
    for (;;) {
      const ssize_t n = ::read(fd_, out, len);
      if (n >= 0) return n;
      if (errno != EINTR) return -errno;
    }
  }

 private:
  int fd_;
};

// Why a handshake may fail, for the end of an error line.
std::string_view credentials_hint(const MigrationSecurity& security) {
  return security.mode == MigrationSecurity::Mode::kPsk
             ? "do both sides use the same --tls-psk key?"
             : "are both certificates signed by the other side's --tls-ca, and does the "
               "destination's certificate name the host?";
}

// GnuTLS's text without its closing full stop and spaces.
std::string tls_error_text(int rc) {
  std::string text = gnutls_strerror(rc);
  while (!text.empty() && (text.back() == '.' || text.back() == ' ')) text.pop_back();
  return text;
}

class TlsChannel final : public MigrationChannel {
 public:
  TlsChannel(int fd, const MigrationSecurity& security, TlsRole role,
             const std::string& server_name, std::string_view peer)
      : credentials_(security, role), peer_(peer), hint_(credentials_hint(security)) {
    // GNUTLS_NO_SIGNAL: a vanished peer is an error, not a SIGPIPE.
    check_tls(gnutls_init(&session_, (role == TlsRole::kServer ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                                         GNUTLS_NO_SIGNAL),
              "session");
    gnutls_session_set_ptr(session_, &credentials_);
    credentials_.apply(session_, server_name);
    gnutls_transport_set_int(session_, fd);
    gnutls_transport_set_ptr(session_, this);
    gnutls_transport_set_vec_push_function(session_, &TlsChannel::push);
    gnutls_transport_set_pull_function(session_, &TlsChannel::pull);
    gnutls_transport_set_pull_timeout_function(session_, &TlsChannel::pull_timeout);
    fd_ = fd;
    gnutls_handshake_set_timeout(session_, kHandshakeTimeoutMs);
    int rc;
    do {
      rc = gnutls_handshake(session_);
    } while (rc < 0 && gnutls_error_is_fatal(rc) == 0 && rc != GNUTLS_E_AGAIN);
    if (rc < 0) {
      // Tell the other side why (best effort), so it fails with a reason
      // rather than a closed connection.
      gnutls_alert_send_appropriate(session_, rc);
      const std::string why = handshake_failure(rc);
      gnutls_deinit(session_);
      session_ = nullptr;
      throw Error(why);
    }
    // From now on, records wait in out_ until a send() has made them all.
    batching_ = true;
  }
  ~TlsChannel() override {
    if (session_ != nullptr) gnutls_deinit(session_);
  }
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // Piece by piece: a short header goes as a record of its own, which costs
  // less than copying the megabyte after it into one buffer.
  void send(std::span<const std::span<const uint8_t>> pieces) override {
    for (const auto piece : pieces) {
      size_t sent = 0;
      while (sent < piece.size()) {
        const ssize_t n = gnutls_record_send(session_, piece.data() + sent, piece.size() - sent);
        if (n >= 0) {
          sent += static_cast<size_t>(n);
          continue;
        }
        if (n == GNUTLS_E_INTERRUPTED) continue;
        // A blocking socket answers EAGAIN only once SO_SNDTIMEO expired.
        if (n == GNUTLS_E_AGAIN) {
          fail("migration stream: send timed out (the peer stopped reading)");
        }
        if (n == GNUTLS_E_PUSH_ERROR) push_failed(push_errno_);
        fail("migration stream: TLS send failed: {}", tls_error_text(static_cast<int>(n)));
      }
    }
    if (const int err = flush(); err != 0) push_failed(err);
  }

  ssize_t receive(uint8_t* out, size_t len) override {
    for (;;) {
      const ssize_t n = gnutls_record_recv(session_, out, len);
      if (n >= 0) return n;
      switch (n) {
        case GNUTLS_E_INTERRUPTED: continue;
        case GNUTLS_E_AGAIN: return -EAGAIN;
        // Closed without a TLS close_notify: the end of the stream, as on
        // plain TCP (the framing above tells a cut message).
        case GNUTLS_E_PREMATURE_TERMINATION: return 0;
        case GNUTLS_E_PULL_ERROR: return -ECONNRESET;
        case GNUTLS_E_FATAL_ALERT_RECEIVED: alert_failure();
        default:
          fail("migration stream: TLS receive failed: {}", tls_error_text(static_cast<int>(n)));
      }
    }
  }

 private:
  [[noreturn]] void alert_failure() const {
    fail("migration stream: the {} ended the TLS session ({}); {}", peer_,
         gnutls_alert_get_name(gnutls_alert_get(session_)), hint_);
  }

  // In TLS 1.3 the client's handshake ends before the server has checked
  // the client's certificate; a server that refuses it sends an alert and
  // closes. A failed send looks for that alert, to say why.
  [[noreturn]] void push_failed(int err) {
    if (err != EAGAIN && err != EWOULDBLOCK) {
      batching_ = false;
      uint8_t byte;
      if (gnutls_record_recv(session_, &byte, 1) == GNUTLS_E_FATAL_ALERT_RECEIVED) alert_failure();
    }
    send_failed(err);
  }

  // The socket under GnuTLS, in bulk: in this workplace's nested VMs a
  // system call costs as much as encrypting a 16 KiB record, and GnuTLS
  // makes one per record and per record header. Written records collect in
  // out_ (up to kBatchBytes) once the handshake is done; reads fill in_ with
  // whatever the socket has, up to kBatchBytes.
  static constexpr size_t kBatchBytes = 256 << 10;

  int flush() {
    if (out_.empty()) return 0;
    iovec iov{out_.data(), out_.size()};
    const int err = write_all(fd_, &iov, 1);
    out_.clear();
    return err;
  }

  static ssize_t push(gnutls_transport_ptr_t self_ptr, const giovec_t* iov, int count) {
    auto* self = static_cast<TlsChannel*>(self_ptr);
    size_t total = 0;
    for (int i = 0; i < count; ++i) {
      const auto* base = static_cast<const uint8_t*>(iov[i].iov_base);
      self->out_.insert(self->out_.end(), base, base + iov[i].iov_len);
      total += iov[i].iov_len;
    }
    if (!self->batching_ || self->out_.size() >= kBatchBytes) {
      if (const int err = self->flush(); err != 0) {
        self->push_errno_ = err;
        gnutls_transport_set_errno(self->session_, err);
        return -1;
      }
    }
    return static_cast<ssize_t>(total);
  }

  static ssize_t pull(gnutls_transport_ptr_t self_ptr, void* data, size_t len) {
    auto* self = static_cast<TlsChannel*>(self_ptr);
    if (self->in_pos_ == self->in_.size()) {
      self->in_.resize(kBatchBytes);
      ssize_t n;
      do {
        n = ::read(self->fd_, self->in_.data(), self->in_.size());
      } while (n < 0 && errno == EINTR);
      if (n <= 0) {
        self->in_.clear();
        self->in_pos_ = 0;
        if (n < 0) gnutls_transport_set_errno(self->session_, errno);
        return n;
      }
      self->in_.resize(static_cast<size_t>(n));
      self->in_pos_ = 0;
    }
    const size_t n = std::min(len, self->in_.size() - self->in_pos_);
    std::memcpy(data, self->in_.data() + self->in_pos_, n);
    self->in_pos_ += n;
    return static_cast<ssize_t>(n);
  }

  // For the handshake's timeout: whether anything arrives within `ms`.
  static int pull_timeout(gnutls_transport_ptr_t self_ptr, unsigned ms) {
    auto* self = static_cast<TlsChannel*>(self_ptr);
    if (self->in_pos_ < self->in_.size()) return 1;
    pollfd p{self->fd_, POLLIN, 0};
    const int timeout = ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : static_cast<int>(ms);
    int rc;
    do {
      rc = ::poll(&p, 1, timeout);
    } while (rc < 0 && errno == EINTR);
    return rc;
  }

  std::string handshake_failure(int rc) const {
    std::string detail;
    bool credentials = true;  // a failure the key or certificates may explain
    if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED) {
      detail = fmt::format("the {} refused it ({})", peer_,
                           gnutls_alert_get_name(gnutls_alert_get(session_)));
    } else if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
      gnutls_datum_t text{};
      const unsigned status = gnutls_session_get_verify_cert_status(session_);
      if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
        detail = fmt::format("the {}'s certificate: {}", peer_,
                             std::string(reinterpret_cast<const char*>(text.data), text.size));
        gnutls_free(text.data);
        while (!detail.empty() && (detail.back() == ' ' || detail.back() == '.')) {
          detail.pop_back();
        }
      } else {
        detail = fmt::format("the {}'s certificate is not trusted", peer_);
      }
    } else if (rc == GNUTLS_E_PREMATURE_TERMINATION || rc == GNUTLS_E_PULL_ERROR ||
               rc == GNUTLS_E_PUSH_ERROR) {
      detail = fmt::format("the {} closed the connection", peer_);
    } else if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_TIMEDOUT) {
      detail = fmt::format("the {} did not answer", peer_);
      credentials = false;
    } else if (rc == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
               rc == GNUTLS_E_UNSUPPORTED_VERSION_PACKET || rc == GNUTLS_E_UNEXPECTED_PACKET) {
      detail = fmt::format("the {} does not speak TLS (--insecure on one side only?)", peer_);
      credentials = false;
    } else {
      detail = tls_error_text(rc);
    }
    return fmt::format("TLS handshake with the {} failed: {}{}{}", peer_, detail,
                       credentials ? "; " : "", credentials ? hint_ : "");
  }

  Credentials credentials_;
  std::string peer_;
  std::string_view hint_;
  gnutls_session_t session_ = nullptr;
  int fd_ = -1;
  bool batching_ = false;
  int push_errno_ = 0;
  std::vector<uint8_t> out_;
  std::vector<uint8_t> in_;
  size_t in_pos_ = 0;
};

}  // namespace

void parse_psk(std::string_view text, std::string_view file, MigrationSecurity& out) {
  // The first line; psktool writes one line per identity.
  const size_t eol = text.find('\n');
  std::string_view line = text.substr(0, eol);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  std::string identity = kDefaultPskIdentity;
  std::string_view hex = line;
  if (const size_t colon = line.rfind(':'); colon != std::string_view::npos) {
    identity = std::string(line.substr(0, colon));
    hex = line.substr(colon + 1);
    if (identity.empty()) fail("--tls-psk {}: the identity before ':' is empty", file);
  }
  const auto bad = [&] {
    fail(
        "--tls-psk {}: not a key: expected one line of {} to {} hex digits, or IDENTITY:HEX as "
        "psktool writes it",
        file, kMinPskBytes * 2, kMaxPskBytes * 2);
  };
  std::optional<std::vector<uint8_t>> key = crypto::from_hex(hex);
  if (!key || key->size() < kMinPskBytes || key->size() > kMaxPskBytes) bad();
  out.mode = MigrationSecurity::Mode::kPsk;
  out.psk_identity = std::move(identity);
  out.psk_key = std::move(*key);
}

MigrationSecurity load_migration_security(const MigrationSecurityFiles& files,
                                          std::string_view who) {
  const bool psk = !files.psk.empty();
  const bool certs = !files.cert.empty() || !files.key.empty() || !files.ca.empty();
  if (files.insecure && (psk || certs)) {
    fail("{}: --insecure turns TLS off; it does not go with --tls-psk or --tls-cert", who);
  }
  if (psk && certs) fail("{}: give --tls-psk or --tls-cert/--tls-key/--tls-ca, not both", who);
  MigrationSecurity security;
  if (files.insecure) {
    security.mode = MigrationSecurity::Mode::kInsecure;
    return security;
  }
  if (psk) {
    parse_psk(read_credential_file(files.psk, who, "--tls-psk"), files.psk, security);
    return security;
  }
  if (!certs) {
    fail(
        "{}: the migration stream needs --tls-psk FILE (or --tls-cert, --tls-key and --tls-ca), "
        "or --insecure for plain TCP",
        who);
  }
  for (const auto& [name, value] :
       {std::pair{"--tls-cert", &files.cert}, std::pair{"--tls-key", &files.key},
        std::pair{"--tls-ca", &files.ca}}) {
    if (value->empty())
      fail("{}: --tls-cert, --tls-key and --tls-ca go together ({} is missing)", who, name);
  }
  security.mode = MigrationSecurity::Mode::kCertificate;
  security.cert_pem = read_credential_file(files.cert, who, "--tls-cert");
  security.key_pem = read_credential_file(files.key, who, "--tls-key");
  security.ca_pem = read_credential_file(files.ca, who, "--tls-ca");
  try {
    Credentials check(security, TlsRole::kServer);
  } catch (const Error& e) {
    fail("{}: {}", who, e.what());
  }
  return security;
}

void migration_security_to_request(const MigrationSecurity& security, nlohmann::json& request) {
  switch (security.mode) {
    case MigrationSecurity::Mode::kUnset: break;
    case MigrationSecurity::Mode::kInsecure: request["insecure"] = true; break;
    case MigrationSecurity::Mode::kPsk:
      request["tls_psk"] = security.psk_identity + ":" + crypto::to_hex(security.psk_key);
      break;
    case MigrationSecurity::Mode::kCertificate:
      request["tls_cert"] = security.cert_pem;
      request["tls_key"] = security.key_pem;
      request["tls_ca"] = security.ca_pem;
      break;
  }
}

MigrationSecurity migration_security_from_request(const nlohmann::json& request) {
  const auto text = [&](const char* key) -> std::string {
    const auto it = request.find(key);
    if (it == request.end()) return {};
    if (!it->is_string() || it->get<std::string>().empty()) fail("'{}' is not a string", key);
    return it->get<std::string>();
  };
  const auto insecure = request.find("insecure");
  const bool plain = insecure != request.end() && insecure->is_boolean() && insecure->get<bool>();
  const std::string psk = text("tls_psk");
  MigrationSecurity security;
  security.cert_pem = text("tls_cert");
  security.key_pem = text("tls_key");
  security.ca_pem = text("tls_ca");
  const bool certs =
      !security.cert_pem.empty() || !security.key_pem.empty() || !security.ca_pem.empty();
  if (static_cast<int>(plain) + static_cast<int>(!psk.empty()) + static_cast<int>(certs) != 1) {
    fail("migrate needs one of tls_psk, tls_cert/tls_key/tls_ca or insecure");
  }
  if (plain) {
    security.mode = MigrationSecurity::Mode::kInsecure;
  } else if (!psk.empty()) {
    parse_psk(psk, "(from the request)", security);
  } else {
    if (security.cert_pem.empty() || security.key_pem.empty() || security.ca_pem.empty()) {
      fail("migrate: tls_cert, tls_key and tls_ca go together");
    }
    security.mode = MigrationSecurity::Mode::kCertificate;
    Credentials check(security, TlsRole::kClient);
  }
  return security;
}

std::unique_ptr<MigrationChannel> plain_channel(int fd) {
  return std::make_unique<PlainChannel>(fd);
}

std::unique_ptr<MigrationChannel> open_migration_channel(int fd, const MigrationSecurity& security,
                                                         TlsRole role,
                                                         const std::string& server_name,
                                                         std::string_view peer) {
  switch (security.mode) {
    case MigrationSecurity::Mode::kUnset:
      fail("the migration stream is neither TLS nor --insecure");
    case MigrationSecurity::Mode::kInsecure: return plain_channel(fd);
    case MigrationSecurity::Mode::kPsk:
    case MigrationSecurity::Mode::kCertificate:
      return std::make_unique<TlsChannel>(fd, security, role, server_name, peer);
  }
  fail("the migration stream is neither TLS nor --insecure");
}

std::string describe_security(const MigrationSecurity& security) {
  switch (security.mode) {
    case MigrationSecurity::Mode::kUnset: return "unset";
    case MigrationSecurity::Mode::kInsecure: return "plain TCP (--insecure)";
    case MigrationSecurity::Mode::kPsk: return "TLS 1.3 (pre-shared key)";
    case MigrationSecurity::Mode::kCertificate: return "TLS 1.3 (certificates)";
  }
  return "unset";
}

}  // namespace vessel
