#include "devices/net/slirp_backend.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <slirp/libslirp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/error.hpp"

namespace vessel::net {

struct SlirpBackend::Timer {
  // libslirp creates timers in one of two ways: with a callback
  // (timer_new) or, from SlirpConfig version 4, with an id to hand back to
  // slirp_handle_timer (timer_new_opaque).
  SlirpTimerCb cb = nullptr;
  SlirpTimerId id = SLIRP_TIMER_RA;
  void* cb_opaque = nullptr;
  bool armed = false;
  int64_t expire_ms = 0;  // on the now_ms() clock
};

struct SlirpBackend::Callbacks {
  static SlirpBackend& self(void* opaque) { return *static_cast<SlirpBackend*>(opaque); }

  static ssize_t send_packet(const void* buf, size_t len, void* opaque) {
    // SAFETY: libslirp hands us `len` readable bytes for the duration of the call.
    self(opaque).deliver({static_cast<const uint8_t*>(buf), len});
    return static_cast<ssize_t>(len);
  }
  static void guest_error(const char* msg, void* opaque) {
    if (self(opaque).guest_error_limit_.allow()) spdlog::warn("net user: guest error: {}", msg);
  }
  static int64_t clock_get_ns(void* /*opaque*/) { return now_ms() * 1'000'000; }

  static void* timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
    auto timer = std::make_unique<Timer>();
    timer->cb = cb;
    timer->cb_opaque = cb_opaque;
    self(opaque).timers_.push_back(std::move(timer));
    return self(opaque).timers_.back().get();
  }
  static void* timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
    auto timer = std::make_unique<Timer>();
    timer->id = id;
    timer->cb_opaque = cb_opaque;
    self(opaque).timers_.push_back(std::move(timer));
    return self(opaque).timers_.back().get();
  }
  static void timer_free(void* timer, void* opaque) {
    auto& timers = self(opaque).timers_;
    std::erase_if(timers, [timer](const std::unique_ptr<Timer>& t) { return t.get() == timer; });
  }
  static void timer_mod(void* timer, int64_t expire_ms, void* /*opaque*/) {
    auto* t = static_cast<Timer*>(timer);
    t->armed = true;
    t->expire_ms = expire_ms;
  }
  // We hand libslirp our descriptors afresh on every poll, and run on one
  // thread: nothing to register and nobody to wake.
  static void register_poll_fd(int /*fd*/, void* /*opaque*/) {}
  static void unregister_poll_fd(int /*fd*/, void* /*opaque*/) {}
  static void notify(void* /*opaque*/) {}

  static int add_poll(int fd, int events, void* opaque) {
    short ev = 0;
    if (events & SLIRP_POLL_IN) ev |= POLLIN;
    if (events & SLIRP_POLL_OUT) ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI) ev |= POLLPRI;
    // POLLERR and POLLHUP are always reported.
    return self(opaque).filling_->add(fd, ev);
  }
  static int get_revents(int index, void* opaque) {
    const short ev = self(opaque).polled_->revents(index);
    int out = 0;
    if (ev & POLLIN) out |= SLIRP_POLL_IN;
    if (ev & POLLOUT) out |= SLIRP_POLL_OUT;
    if (ev & POLLPRI) out |= SLIRP_POLL_PRI;
    if (ev & (POLLERR | POLLNVAL)) out |= SLIRP_POLL_ERR;
    if (ev & POLLHUP) out |= SLIRP_POLL_HUP;
    return out;
  }

  static const SlirpCb table;
};

const SlirpCb SlirpBackend::Callbacks::table = {
    .send_packet = send_packet,
    .guest_error = guest_error,
    .clock_get_ns = clock_get_ns,
    .timer_new = timer_new,
    .timer_free = timer_free,
    .timer_mod = timer_mod,
    .register_poll_fd = register_poll_fd,
    .unregister_poll_fd = unregister_poll_fd,
    .notify = notify,
    .init_completed = nullptr,
    .timer_new_opaque = timer_new_opaque,
};

namespace {

in_addr ipv4(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a;
}

in6_addr ipv6(const char* text) {
  in6_addr a{};
  inet_pton(AF_INET6, text, &a);
  return a;
}

std::string describe(const HostForward& rule) {
  char host[INET_ADDRSTRLEN] = {}, guest[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &rule.host_addr, host, sizeof host);
  inet_ntop(AF_INET, &rule.guest_addr, guest, sizeof guest);
  return fmt::format("{}:{}:{}-{}:{}", rule.udp ? "udp" : "tcp", host, rule.host_port, guest,
                     rule.guest_port);
}

}  // namespace

SlirpBackend::SlirpBackend(const SlirpOptions& options) : hostfwd_(options.hostfwd) {
  SlirpConfig config{};
  config.version = std::min<uint32_t>(4, SLIRP_CONFIG_VERSION_MAX);
  config.restricted = 0;
  config.in_enabled = true;
  config.vnetwork = ipv4(kNetwork);
  config.vnetmask = ipv4("255.255.255.0");
  config.vhost = ipv4(kGateway);
  config.vdhcp_start = ipv4(kGuest);
  config.vnameserver = ipv4(kDns);
  config.in6_enabled = options.ipv6;
  config.vprefix_addr6 = ipv6("fec0::");
  config.vprefix_len = 64;
  config.vhost6 = ipv6("fec0::2");
  config.vnameserver6 = ipv6("fec0::3");
  config.disable_host_loopback = false;  // 10.0.2.2 reaches the host's 127.0.0.1
  config.enable_emu = false;

  slirp_ = slirp_new(&config, &Callbacks::table, this);
  if (slirp_ == nullptr) fail("--net user: libslirp failed to start");

  for (const HostForward& rule : options.hostfwd) {
    errno = 0;
    if (slirp_add_hostfwd(slirp_, rule.udp ? 1 : 0, rule.host_addr, rule.host_port, rule.guest_addr,
                          rule.guest_port) < 0) {
      const int err = errno;
      slirp_cleanup(slirp_);
      slirp_ = nullptr;
      fail("--net user: hostfwd {}: cannot listen on the host port: {}", describe(rule),
           err != 0 ? std::strerror(err) : "refused by libslirp");
    }
    spdlog::debug("net user: forwarding {}", describe(rule));
  }
}

void SlirpBackend::release_host_ports() {
  for (const HostForward& rule : hostfwd_) {
    slirp_remove_hostfwd(slirp_, rule.udp ? 1 : 0, rule.host_addr, rule.host_port);
  }
}

void SlirpBackend::retake_host_ports() {
  for (const HostForward& rule : hostfwd_) {
    if (slirp_add_hostfwd(slirp_, rule.udp ? 1 : 0, rule.host_addr, rule.host_port, rule.guest_addr,
                          rule.guest_port) < 0) {
      spdlog::error("--net user: hostfwd {}: cannot listen on the host port again: {}",
                    describe(rule), std::strerror(errno));
    }
  }
}

SlirpBackend::~SlirpBackend() {
  // slirp_cleanup frees its timers through our callbacks; timers_ is still
  // alive here.
  if (slirp_ != nullptr) slirp_cleanup(slirp_);
}

int64_t SlirpBackend::now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

void SlirpBackend::send(std::span<const uint8_t> frame) {
  if (frame.size() < kMinFrameBytes || frame.size() > kMaxFrameBytes) return;
  slirp_input(slirp_, frame.data(), static_cast<int>(frame.size()));
}

void SlirpBackend::prepare(PollSet& set) {
  uint32_t timeout = UINT32_MAX;
  filling_ = &set;
  slirp_pollfds_fill(slirp_, &timeout, &Callbacks::add_poll, this);
  filling_ = nullptr;
  prepared_ = true;
  if (timeout != UINT32_MAX) set.limit_timeout(timeout);
  const int64_t deadline = next_deadline_ms();
  if (deadline >= 0) set.limit_timeout(std::max<int64_t>(0, deadline - now_ms()));
}

void SlirpBackend::dispatch(const PollSet& set) {
  if (prepared_) {
    polled_ = &set;
    slirp_pollfds_poll(slirp_, 0, &Callbacks::get_revents, this);
    polled_ = nullptr;
    prepared_ = false;
  }
  fire_due_timers();
}

int64_t SlirpBackend::next_deadline_ms() const {
  int64_t deadline = -1;
  for (const auto& t : timers_) {
    if (t->armed && (deadline < 0 || t->expire_ms < deadline)) deadline = t->expire_ms;
  }
  return deadline;
}

void SlirpBackend::fire_due_timers() {
  // A timer's callback may create, re-arm or free timers: look again after
  // each one. Bounded, so a timer re-armed in the past cannot spin here.
  for (size_t round = 0; round < 64; ++round) {
    const int64_t now = now_ms();
    auto due = std::find_if(timers_.begin(), timers_.end(),
                            [now](const auto& t) { return t->armed && t->expire_ms <= now; });
    if (due == timers_.end()) return;
    Timer& timer = **due;
    timer.armed = false;
    if (timer.cb != nullptr) {
      timer.cb(timer.cb_opaque);
    } else {
      slirp_handle_timer(slirp_, timer.id, timer.cb_opaque);
    }
  }
}

}  // namespace vessel::net
