#include "vm/journal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "base/error.hpp"
#include "base/log.hpp"
#include "devices/virtio/blk.hpp"
#include "devices/virtio/rng.hpp"
#include "platform/guest_clock.hpp"
#include "vm/machine.hpp"

namespace vessel {

using replay::Kind;

namespace {
constexpr uint64_t kFlushEveryNs = 1'000'000'000;  // a killed recording loses a second at most
constexpr size_t kMaxHeldFrames = 1024;            // frames waiting for the next stop

uint64_t iov_total(const std::vector<iovec>& iov) {
  uint64_t n = 0;
  for (const iovec& v : iov) n += v.iov_len;
  return n;
}
}  // namespace

Perturb parse_perturb(const std::string& text) {
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  Perturb p;
  if (kind == "console") {
    p.kind = Kind::kConsole;
  } else if (kind == "net") {
    p.kind = Kind::kNet;
  } else if (kind == "disk") {
    p.kind = Kind::kDisk;
  } else if (kind == "rng") {
    p.kind = Kind::kRng;
  } else {
    fail("--replay-perturb {}: use console:N, net:N, disk:N or rng:N", text);
  }
  if (colon == std::string::npos) return p;
  const std::string n = text.substr(colon + 1);
  char* end = nullptr;
  errno = 0;
  p.nth = std::strtoull(n.c_str(), &end, 10);
  if (n.empty() || *end != '\0' || errno != 0 || p.nth == 0) {
    fail("--replay-perturb {}: N must be a number from 1", text);
  }
  return p;
}

// ---- a disk's backend ----

class Journal::DiskAdapter final : public BlockBackend {
 public:
  DiskAdapter(Journal& journal, unsigned index, std::unique_ptr<BlockBackend> inner)
      : journal_(journal), index_(index), inner_(std::move(inner)) {}

  const char* name() const override { return inner_ ? inner_->name() : "replay"; }

  void submit(BlockOp op) override {
    if (!inner_) {
      pending_.push_back(std::move(op));
      return;
    }
    if (op.kind == BlockOp::Kind::kRead && journal_.recording()) {
      // The host fills a buffer of ours; guest memory gets the bytes at the
      // completion, on the VM thread, as in the replay.
      Bounce b;
      b.iov = std::move(op.iov);
      b.buffer.resize(iov_total(b.iov));
      op.iov = {iovec{b.buffer.data(), b.buffer.size()}};
      bounces_[op.tag] = std::move(b);
    }
    inner_->submit(std::move(op));
  }
  void kick() override {
    if (inner_) inner_->kick();
  }
  int event_fd() const override { return inner_ ? inner_->event_fd() : -1; }
  size_t in_flight() const override { return inner_ ? inner_->in_flight() : pending_.size(); }

  void reap(std::vector<BlockCompletion>& out) override {
    if (!inner_) {
      out.insert(out.end(), ready_.begin(), ready_.end());
      ready_.clear();
      return;
    }
    const size_t start = out.size();
    inner_->reap(out);
    record(out, start, /*drain=*/false);
  }

  void drain(std::vector<BlockCompletion>& out) override {
    if (!inner_) {
      // Only a reset drains while the guest runs; it waited for every op.
      if (journal_.closed_ || !journal_.in_round_) return;
      const auto done = journal_.take_disk_drain(index_);
      if (!apply(done, out)) return;
      if (!pending_.empty()) journal_.diverge("a disk reset: requests remain in flight");
      return;
    }
    const size_t start = out.size();
    inner_->drain(out);
    record(out, start, /*drain=*/true);
  }

  // Replaying, reverse debugging: back to a point where nothing was in
  // flight (the device was reset and reloaded meanwhile).
  void forget() {
    pending_.clear();
    ready_.clear();
  }
  // Replaying: completions from the log, handed to the device's next reap.
  bool deliver(const std::vector<replay::DiskCompletion>& done) { return apply(done, ready_); }

 private:
  struct Bounce {
    std::vector<iovec> iov;  // guest memory
    std::vector<uint8_t> buffer;
  };

  void record(std::vector<BlockCompletion>& out, size_t start, bool drain) {
    std::vector<replay::DiskCompletion> logged;
    for (size_t i = start; i < out.size(); ++i) {
      replay::DiskCompletion d{out[i].tag, out[i].result, {}};
      auto it = bounces_.find(out[i].tag);
      if (it != bounces_.end()) {
        if (out[i].result >= 0) {
          const uint8_t* src = it->second.buffer.data();
          for (const iovec& v : it->second.iov) {
            std::memcpy(v.iov_base, src, v.iov_len);
            src += v.iov_len;
          }
          d.data = std::move(it->second.buffer);
        }
        bounces_.erase(it);
      }
      logged.push_back(std::move(d));
    }
    if (!logged.empty() || (drain && journal_.in_round_)) journal_.log_disk(index_, logged);
  }

  // Replaying: each completion must be for an op the device submitted, a
  // read's data exactly as long as its buffers.
  bool apply(const std::vector<replay::DiskCompletion>& done, std::vector<BlockCompletion>& out) {
    for (const replay::DiskCompletion& d : done) {
      auto it = std::find_if(pending_.begin(), pending_.end(),
                             [&](const BlockOp& op) { return op.tag == d.tag; });
      if (it == pending_.end()) {
        journal_.diverge(
            fmt::format("disk {}: a completion for request {}, which the guest "
                        "has not made",
                        index_, d.tag));
        return false;
      }
      if (it->kind == BlockOp::Kind::kRead && d.result >= 0) {
        if (d.data.size() != iov_total(it->iov)) {
          journal_.diverge(fmt::format("disk {}: request {} reads {} bytes, the recording has {}",
                                       index_, d.tag, iov_total(it->iov), d.data.size()));
          return false;
        }
        const uint8_t* src = d.data.data();
        for (const iovec& v : it->iov) {
          std::memcpy(v.iov_base, src, v.iov_len);
          src += v.iov_len;
        }
      } else if (!d.data.empty()) {
        journal_.diverge(fmt::format("disk {}: request {} is not a read", index_, d.tag));
        return false;
      }
      out.push_back(BlockCompletion{d.tag, d.result});
      pending_.erase(it);
    }
    return true;
  }

  Journal& journal_;
  unsigned index_;
  std::unique_ptr<BlockBackend> inner_;  // null when replaying
  std::map<uint64_t, Bounce> bounces_;
  std::deque<BlockOp> pending_;  // replaying: submitted, not completed
  std::vector<BlockCompletion> ready_;
};

// ---- a network backend ----

class Journal::NetAdapter final : public net::NetBackend {
 public:
  NetAdapter(Journal& journal, unsigned index, std::unique_ptr<net::NetBackend> inner)
      : journal_(journal), index_(index), inner_(std::move(inner)) {
    if (inner_) {
      inner_->set_sink([this](std::span<const uint8_t> frame) {
        // Not recording (yet, or any more): straight to the device.
        if (!journal_.recording()) {
          deliver(frame);
        } else if (held_.size() < kMaxHeldFrames) {
          held_.emplace_back(frame.begin(), frame.end());
        }
      });
    }
  }
  ~NetAdapter() override {
    if (inner_) inner_->set_sink(nullptr);
  }
  net::NetBackend* inner() const { return inner_.get(); }

  void send(std::span<const uint8_t> frame) override {
    ++journal_.net_frames_;
    journal_.net_hash_ = XXH3_64bits_withSeed(frame.data(), frame.size(), journal_.net_hash_);
    if (inner_) inner_->send(frame);
  }
  void prepare(PollSet& /*set*/) override {}
  void dispatch(const PollSet& /*set*/) override {}
  void release_host_ports() override {
    if (inner_) inner_->release_host_ports();
  }
  void retake_host_ports() override {
    if (inner_) inner_->retake_host_ports();
  }

  // Recording, at a stop: the frames the network delivered since the last
  // (when the recording has just stopped: unlogged).
  void hand_over() {
    while (!held_.empty()) {
      std::vector<uint8_t> frame = std::move(held_.front());
      held_.pop_front();
      replay::PayloadWriter w;
      w.varint(index_);
      w.bytes(frame);
      journal_.log(Kind::kNet, w.data());
      deliver(frame);
    }
  }
  bool holding() const { return !held_.empty(); }
  // Replaying.
  void replay(std::span<const uint8_t> frame) { deliver(frame); }

 private:
  Journal& journal_;
  unsigned index_;
  std::unique_ptr<net::NetBackend> inner_;
  std::deque<std::vector<uint8_t>> held_;
};

// ---- the journal ----

Journal::Journal(uint64_t checkpoint_interval)
    : checkpoint_interval_(checkpoint_interval == 0 ? kDefaultCheckpointInterval
                                                    : checkpoint_interval),
      next_checkpoint_(checkpoint_interval_) {}

Journal::Journal(std::unique_ptr<replay::LogReader> reader, std::optional<Perturb> perturb)
    : replaying_(true), reader_(std::move(reader)), perturb_(perturb) {
  // A recording started on a running VM (`vessel ctl record start`) counts
  // from where its snapshot was taken.
  const nlohmann::json& h = reader_->header();
  if (h.contains("start_instructions") && h["start_instructions"].is_number_unsigned()) {
    stamp_ = {h["start_instructions"].get<uint64_t>(), 0};
  }
  advance();
}

Journal::~Journal() = default;

void Journal::start_recording(std::unique_ptr<replay::LogWriter> writer, uint64_t start) {
  writer_ = std::move(writer);
  last_flush_ns_ = GuestClock::host_ns();
  // As the replay begins: at the snapshot's count, no stop there yet, no
  // output compared yet.
  stamp_ = {start, 0};
  next_checkpoint_ = (start / checkpoint_interval_ + 1) * checkpoint_interval_;
  net_frames_ = 0;
  net_hash_ = 0;
  host_stop_.reset();
}

void Journal::watch_memory(GuestMemory& memory) {
  if (ignore_memory_) return;
  memory_ = &memory;
  memory.start_dirty_log();
}

void Journal::stop_recording(std::function<void()> on_stopped) {
  stop_recording_ = std::move(on_stopped);
}

nlohmann::json Journal::header(uint64_t max_instructions, uint64_t start) const {
  nlohmann::json disks = nlohmann::json::array();
  for (const virtio::VirtioBlk* d : disk_devices_) {
    disks.push_back({{"capacity_sectors", d->capacity_sectors()},
                     {"read_only", d->read_only()},
                     {"discard", d->discard_supported()},
                     {"serial", d->serial()}});
  }
  return {{"format", "vessel-replay"},
          {"vessel", VESSEL_VERSION},
          {"checkpoint_interval", checkpoint_interval_},
          {"max_instructions", max_instructions},
          {"start_instructions", start},
          {"disks", disks}};
}

ReplayDiskInfo Journal::replay_disk_info(unsigned index) const {
  const nlohmann::json& h = reader_->header();
  const nlohmann::json* disks = h.contains("disks") ? &h["disks"] : nullptr;
  if (disks == nullptr || !disks->is_array() || index >= disks->size()) {
    fail("replay log: its header does not describe disk {}", index);
  }
  const nlohmann::json& d = (*disks)[index];
  ReplayDiskInfo info;
  try {
    info.capacity_sectors = d.at("capacity_sectors").get<uint64_t>();
    info.read_only = d.at("read_only").get<bool>();
    info.discard = d.at("discard").get<bool>();
    info.serial = d.at("serial").get<std::string>();
  } catch (const nlohmann::json::exception&) {
    fail("replay log: its header describes disk {} wrongly", index);
  }
  return info;
}

uint64_t Journal::replay_max_instructions() const {
  const nlohmann::json& h = reader_->header();
  if (!h.contains("max_instructions") || !h["max_instructions"].is_number_unsigned()) return 0;
  return h["max_instructions"].get<uint64_t>();
}

std::unique_ptr<BlockBackend> Journal::disk_backend(unsigned index,
                                                    std::unique_ptr<BlockBackend> inner) {
  auto adapter = std::make_unique<DiskAdapter>(*this, index, std::move(inner));
  if (disks_.size() <= index) disks_.resize(index + 1, nullptr);
  disks_[index] = adapter.get();
  return adapter;
}

void Journal::attach_disk(unsigned index, virtio::VirtioBlk* device) {
  if (disk_devices_.size() <= index) disk_devices_.resize(index + 1, nullptr);
  disk_devices_[index] = device;
}

std::unique_ptr<net::NetBackend> Journal::net_backend(unsigned index,
                                                      std::unique_ptr<net::NetBackend> inner) {
  auto adapter = std::make_unique<NetAdapter>(*this, index, std::move(inner));
  if (nets_.size() <= index) nets_.resize(index + 1, nullptr);
  nets_[index] = adapter.get();
  return adapter;
}

net::NetBackend* Journal::net_inner(net::NetBackend* adapter) {
  return static_cast<NetAdapter*>(adapter)->inner();
}

void Journal::log(Kind kind, std::span<const uint8_t> payload) {
  if (closed_ || !writer_) return;
  writer_->append(kind, stamp_.instructions, stamp_.sub, payload);
}

void Journal::log_disk(unsigned index, std::span<const replay::DiskCompletion> done) {
  log(in_round_ ? Kind::kDiskDrain : Kind::kDisk, replay::encode_disk(index, done));
}

void Journal::console_input(std::span<const uint8_t> bytes) {
  if (!bytes.empty()) log(Kind::kConsole, bytes);
}

int Journal::console_read(const std::function<int()>& host) {
  if (!replaying_) {
    const int c = host();
    const uint8_t byte = static_cast<uint8_t>(c);
    log(Kind::kConsoleRead,
        c < 0 ? std::span<const uint8_t>() : std::span<const uint8_t>(&byte, 1));
    return c;
  }
  const auto r = take_sync(Kind::kConsoleRead);
  if (!r || r->payload.empty()) return -1;
  return r->payload[0];
}

size_t Journal::rng(std::span<uint8_t> out) {
  if (!replaying_) {
    const size_t n = virtio::host_random(out);
    log(Kind::kRng, out.first(n));
    return n;
  }
  const auto r = take_sync(Kind::kRng);
  if (!r) return 0;
  if (r->payload.size() > out.size()) {
    diverge(fmt::format("virtio-rng asked for {} bytes, the recording gave {}", out.size(),
                        r->payload.size()));
    return 0;
  }
  std::copy(r->payload.begin(), r->payload.end(), out.begin());
  return r->payload.size();
}

std::vector<replay::DiskCompletion> Journal::take_disk_drain(unsigned index) {
  const auto r = take_sync(Kind::kDiskDrain);
  if (!r) return {};
  uint64_t disk = 0;
  auto done = replay::decode_disk(r->payload, disk);  // checked by validate()
  if (disk != index) {
    diverge(fmt::format("disk {} was reset; the recording has disk {} reset", index, disk));
    return {};
  }
  return done;
}

void Journal::stop_from_host(int status) {
  if (!host_stop_) host_stop_ = status;
}

replay::Checkpoint Journal::checkpoint(Machine& m) {
  replay::Checkpoint cp;
  for (const state::Section& s : m.state_for_digest()) {
    cp.parts.push_back({s.name, XXH3_64bits(s.payload.data(), s.payload.size())});
  }
  if (memory_ != nullptr) {
    // The pages written since the last checkpoint, each with its number.
    const std::vector<uint64_t> dirty = memory_->take_dirty();
    XXH3_state_t* st = XXH3_createState();
    XXH3_64bits_reset(st);
    for (size_t w = 0; w < dirty.size(); ++w) {
      for (uint64_t bits = dirty[w]; bits != 0; bits &= bits - 1) {
        const uint64_t page = w * 64 + static_cast<uint64_t>(__builtin_ctzll(bits));
        const uint64_t offset = page << GuestMemory::kPageShift;
        if (offset >= memory_->size()) break;
        XXH3_64bits_update(st, &page, sizeof page);
        XXH3_64bits_update(st, memory_->host_base() + offset, GuestMemory::kPageSize);
      }
    }
    cp.parts.push_back({"memory", XXH3_64bits_digest(st)});
    XXH3_freeState(st);
  }
  for (unsigned i = 0; i < m.num_harts(); ++i) cp.pcs.push_back(m.hart(i).pc);
  cp.console_hash = m.console_output_digest(cp.console_bytes);
  cp.net_frames = net_frames_;
  cp.net_hash = net_hash_;
  return cp;
}

std::string Journal::state_hash(Machine& m) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  for (const state::Section& s : m.state_for_digest()) {
    XXH3_128bits_update(st, s.name.data(), s.name.size());
    XXH3_128bits_update(st, s.payload.data(), s.payload.size());
  }
  XXH3_128bits_update(st, m.memory().host_base(), m.memory().size());
  uint64_t console_bytes = 0;
  const uint64_t console = m.console_output_digest(console_bytes);
  const uint64_t tail[4] = {console_bytes, console, net_frames_, net_hash_};
  XXH3_128bits_update(st, tail, sizeof tail);
  const XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

std::optional<int> Journal::boundary(Machine& m, uint64_t retired) {
  machine_ = &m;
  in_round_ = false;
  if (retired == stamp_.instructions) {
    ++stamp_.sub;
  } else {
    stamp_ = {retired, 0};
  }
  if (closed_) return std::nullopt;
  if (!replaying_) {
    if (!recording()) {
      // Frames held when a recording stopped go to the guest unlogged.
      for (NetAdapter* n : nets_) {
        if (n != nullptr && n->holding()) n->hand_over();
      }
      return std::nullopt;
    }
    for (NetAdapter* n : nets_) {
      if (n != nullptr) n->hand_over();
    }
    bool checked = false;
    if (retired >= next_checkpoint_) {
      log(Kind::kCheckpoint, replay::encode_checkpoint(checkpoint(m)));
      next_checkpoint_ = (retired / checkpoint_interval_ + 1) * checkpoint_interval_;
      checked = true;
    }
    if (stop_recording_) {
      end_log(m, 0, 2);
      auto done = std::move(stop_recording_);
      stop_recording_ = nullptr;
      done();
      return std::nullopt;
    }
    const uint64_t now = GuestClock::host_ns();
    if (now - last_flush_ns_ >= kFlushEveryNs) {
      last_flush_ns_ = now;
      // A checkpoint at each flush: a killed recording replays to its last
      // block and is checked up to there.
      if (!checked) log(Kind::kCheckpoint, replay::encode_checkpoint(checkpoint(m)));
      writer_->flush();
      writer_->sync();
    }
    return host_stop_;
  }
  pump(m);
  if (diverged_) return kExitReplayDiverged;
  if (pending_ && pending_->kind == Kind::kEnd && pending_->instructions == stamp_.instructions &&
      pending_->sub == stamp_.sub) {
    const replay::End end = replay::decode_end(pending_->payload);  // checked by validate()
    if (end.stopped) stopped_hash_ = state_hash(m);                 // as the recording hashed it
    if (end.by_host || end.stopped) return end.status;
  }
  if (!pending_ && reader_->cut()) {
    // Everything the log holds was delivered and checked: stop here.
    cut_reported_ = true;
    spdlog::error(
        "replay stopped at instruction {}: the recording was cut there (its log ends "
        "without an end record); it matched up to there",
        stamp_.instructions);
    return kExitReplayCut;
  }
  return std::nullopt;
}

bool Journal::is_sync(Kind kind) const {
  return kind == Kind::kDiskDrain || kind == Kind::kRng || kind == Kind::kConsoleRead;
}

void Journal::advance() {
  pending_.reset();
  try {
    pending_ = reader_->next();
  } catch (const replay::LogError& e) {
    diverge(e.what());
    return;
  }
  if (pending_) perturb(*pending_);
}

void Journal::perturb(replay::Record& r) {
  if (!perturb_ || r.kind != perturb_->kind || ++perturb_seen_ != perturb_->nth) return;
  bool changed = false;
  if (r.kind == Kind::kDisk) {
    uint64_t disk = 0;
    try {
      auto done = replay::decode_disk(r.payload, disk);
      for (auto& d : done) {
        if (!d.data.empty()) {
          d.data[0] ^= 1;
          changed = true;
          break;
        }
      }
      r.payload = replay::encode_disk(disk, done);
    } catch (const replay::LogError&) {
    }
  } else if (!r.payload.empty()) {
    // A frame's last byte (its first ones are addresses the guest would
    // simply drop); a console byte or random byte: the first.
    (r.kind == Kind::kNet ? r.payload.back() : r.payload.front()) ^= 1;
    changed = true;
  }
  if (!changed) return;
  perturbed_ = true;
  perturbed_at_ = r.instructions;
  spdlog::warn("replay: changing {} #{} (at instruction {}) on purpose (--replay-perturb)",
               kind_name(r.kind), perturb_->nth, r.instructions);
}

void Journal::diverge(const std::string& what) {
  if (diverged_) return;
  std::string line =
      fmt::format("replay diverged at instruction {}: {}", stamp_.instructions, what);
  if (perturbed_)
    line += fmt::format(" (an input at instruction {} was changed on purpose)", perturbed_at_);
  spdlog::error("{}", line);
  diverged_ = line;
}

void Journal::pump(Machine& m) {
  while (pending_ && !diverged_) {
    const Stamp at{pending_->instructions, pending_->sub};
    if (at < stamp_) {
      diverge(fmt::format("the recording has {} at instruction {}{}, where the replay did not stop",
                          kind_name(pending_->kind), at.instructions,
                          at.sub != 0 ? fmt::format(" (stop {} there)", at.sub) : ""));
      return;
    }
    if (!(at == stamp_) || is_sync(pending_->kind) || pending_->kind == Kind::kEnd) return;
    replay::Record r = std::move(*pending_);
    advance();
    switch (r.kind) {
      case Kind::kConsole: {
        const size_t took = m.deliver_console_input(r.payload);
        if (took != r.payload.size()) {
          diverge(fmt::format("the console device took {} of {} bytes, in the recording all", took,
                              r.payload.size()));
        }
        break;
      }
      case Kind::kNet: {
        replay::Cursor c(r.payload);
        const uint64_t index = c.varint();
        if (index >= nets_.size() || nets_[index] == nullptr) {
          diverge(fmt::format("a frame for network device {}, which this VM does not have", index));
          return;
        }
        nets_[index]->replay(c.rest());
        break;
      }
      case Kind::kDisk: {
        uint64_t index = 0;
        const auto done = replay::decode_disk(r.payload, index);
        if (index >= disks_.size() || disks_[index] == nullptr || index >= disk_devices_.size() ||
            disk_devices_[index] == nullptr) {
          diverge(fmt::format("a completion for disk {}, which this VM does not have", index));
          return;
        }
        if (disks_[index]->deliver(done)) disk_devices_[index]->reap_completions();
        break;
      }
      case Kind::kCheckpoint: {
        replay::Checkpoint recorded = replay::decode_checkpoint(r.payload);
        if (ignore_memory_) {
          std::erase_if(recorded.parts, [](const auto& p) { return p.name == "memory"; });
        }
        const std::string diff = replay::describe_difference(recorded, checkpoint(m));
        if (!diff.empty()) {
          diverge(
              fmt::format("the state differs from the recording's (checked every {} "
                          "instructions; the last check that matched was at instruction {}): {}",
                          reader_->header().value("checkpoint_interval", uint64_t{0}),
                          last_good_checkpoint_, diff));
          return;
        }
        ++checkpoints_checked_;
        last_good_checkpoint_ = r.instructions;
        break;
      }
      default: break;
    }
  }
}

std::optional<replay::Record> Journal::take_sync(Kind kind) {
  if (closed_ || diverged_) return std::nullopt;
  // Past the end of a cut log: the replay stops at the next stop.
  if (!pending_ && reader_->cut()) return std::nullopt;
  if (!pending_ || pending_->kind != kind || pending_->instructions != stamp_.instructions ||
      pending_->sub != stamp_.sub) {
    diverge(fmt::format("the guest asked for {} (after instruction {}); the recording has {}",
                        kind_name(kind), stamp_.instructions,
                        pending_ ? fmt::format("{} at instruction {}", kind_name(pending_->kind),
                                               pending_->instructions)
                                 : std::string("nothing more")));
    return std::nullopt;
  }
  std::optional<replay::Record> r = std::move(pending_);
  advance();
  // Between rounds, inputs delivered after this one at the same stop follow
  // at once, as they did while recording.
  if (!in_round_ && machine_ != nullptr) pump(*machine_);
  return r;
}

Journal::Mark Journal::mark() const {
  Mark m;
  m.reader = reader_->tell();
  m.pending = pending_;
  m.stamp_instructions = stamp_.instructions;
  m.stamp_sub = stamp_.sub;
  m.net_frames = net_frames_;
  m.net_hash = net_hash_;
  m.perturb_seen = perturb_seen_;
  m.perturbed = perturbed_;
  m.perturbed_at = perturbed_at_;
  m.checkpoints_checked = checkpoints_checked_;
  m.last_good_checkpoint = last_good_checkpoint_;
  return m;
}

void Journal::rewind(const Mark& m) {
  try {
    reader_->seek(m.reader);
  } catch (const replay::LogError& e) {
    diverge(e.what());
    return;
  }
  pending_ = m.pending;
  stamp_ = {m.stamp_instructions, m.stamp_sub};
  net_frames_ = m.net_frames;
  net_hash_ = m.net_hash;
  perturb_seen_ = m.perturb_seen;
  perturbed_ = m.perturbed;
  perturbed_at_ = m.perturbed_at;
  checkpoints_checked_ = m.checkpoints_checked;
  last_good_checkpoint_ = m.last_good_checkpoint;
  diverged_.reset();  // what went another way is undone
  in_round_ = false;
  for (DiskAdapter* d : disks_) {
    if (d != nullptr) d->forget();
  }
}

void Journal::end_log(Machine& m, int status, uint8_t how) {
  const std::string hash = state_hash(m);
  const uint64_t instructions = m.instructions();
  replay::End end{status, how == 1, instructions, hash, how == 2};
  log(Kind::kEnd, replay::encode_end(end));
  writer_->flush();
  writer_->sync();
  spdlog::info("recorded {} instructions, log {} bytes ({:.3f} bytes per 1000 instructions)",
               instructions, writer_->bytes_written(),
               instructions == 0 ? 0.0
                                 : 1000.0 * static_cast<double>(writer_->bytes_written()) /
                                       static_cast<double>(instructions));
  spdlog::info("state hash: {}", hash);
  if (how == 2) {
    writer_.reset();  // the VM goes on, unrecorded
    if (memory_ != nullptr) memory_->stop_dirty_log();
    memory_ = nullptr;
  }
}

int Journal::finish(Machine& m, int status) {
  if (closed_) return status;
  if (!replaying_) {
    if (!recording()) return status;  // standing by, or the recording was stopped
    if (stop_recording_) {
      // `record stop` came as the VM ended: the end is the guest's own.
      auto done = std::move(stop_recording_);
      stop_recording_ = nullptr;
      end_log(m, status, host_stop_.has_value() ? 1 : 0);
      closed_ = true;
      done();
      return status;
    }
    end_log(m, status, host_stop_.has_value() ? 1 : 0);
    closed_ = true;
    return status;
  }
  const std::string hash = stopped_hash_ ? *stopped_hash_ : state_hash(m);
  const uint64_t instructions = m.instructions();
  closed_ = true;
  spdlog::info("state hash: {}", hash);
  if (diverged_) return kExitReplayDiverged;
  if (cut_reported_) return kExitReplayCut;
  if (!pending_ && reader_->cut()) {
    spdlog::error(
        "replay ended (status {}) at instruction {}; the recording was cut at instruction {}",
        status, instructions, reader_->cut_instructions());
    return kExitReplayCut;
  }
  if (g_signal.load() != 0) {
    spdlog::error("replay stopped at instruction {} before the end of the recording", instructions);
    return status;
  }
  if (!pending_ || pending_->kind != Kind::kEnd) {
    diverge(
        fmt::format("the replay ended (status {}), the recording goes on with {} at "
                    "instruction {}",
                    status, pending_ ? kind_name(pending_->kind) : "nothing",
                    pending_ ? pending_->instructions : 0));
    return kExitReplayDiverged;
  }
  const replay::End end = replay::decode_end(pending_->payload);
  stamp_.instructions = instructions;
  if (end.instructions != instructions || end.status != status) {
    diverge(
        fmt::format("the replay ended after {} instructions with status {}, the recording "
                    "after {} with status {}",
                    instructions, status, end.instructions, end.status));
    return kExitReplayDiverged;
  }
  if (end.state_hash != hash) {
    diverge(
        fmt::format("the final state differs (state hash {} in the recording)", end.state_hash));
    return kExitReplayDiverged;
  }
  spdlog::info("replay matches the recording: {} instructions, {} checkpoints, status {}",
               instructions, checkpoints_checked_, status);
  return status;
}

}  // namespace vessel
