// Deterministic record and replay of a whole VM (ReVirt): the journal every
// input from outside the guest passes through.
//
// A recorded run is `--deterministic` (guest time from the instruction
// count) on the round-robin scheduler, so the guest's own execution is a
// function of its starting state and its inputs. The inputs are:
//   - delivered between rounds of slices, wherever host I/O happens to be
//     noticed (console bytes, network frames, disk completions): each is
//     logged with the position of the scheduler's last stop, i.e. the VM's
//     retired-instruction count (all harts, round-robin order) and `sub`,
//     which stop at that same count it was (several while every hart waits);
//     the replay delivers it at the same stop. Frames the network hands over
//     while a hart runs (a reply from inside send()) wait for the next stop;
//   - asked for by the guest itself (randomness, an SBI/HTIF console read,
//     the completions a device reset waits for): logged in the order they
//     were asked for, stamped with the stop before; the replay hands them out
//     in the same order and checks the stamp.
// Everything the guest does between stops is deterministic: the devices'
// MMIO, timers, interrupts. Disk reads go through a bounce buffer while
// recording, so guest memory changes only at the completion, never while
// a hart runs; the replay writes the logged bytes there and reads no disk.
//
// Checks: every `checkpoint_interval` instructions (at the first stop past
// each multiple) the recording logs a hash of each part of the VM's state
// (harts, CLINT, PLIC, UART, SBI, devices), each hart's pc and a hash of the
// guest's console and network output so far; the replay computes the same
// and stops at the first difference, naming the instruction count and what
// differs; each checkpoint also hashes the guest memory written since the
// previous one (watch_memory()). At the end both print a hash of the whole
// state, guest memory included.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "devices/net/net_backend.hpp"
#include "devices/virtio/blk_backend.hpp"
#include "memory/guest_memory.hpp"
#include "vm/replay_log.hpp"

namespace vessel {

class Machine;
namespace virtio {
class VirtioBlk;
}

// `vessel replay` exits with this when the replay differs from the recording
// (as --lockstep does when the engines differ).
inline constexpr int kExitReplayDiverged = 3;
// ... and this when the log was cut (the recording was killed before it
// ended): the replay matched up to where the log ends, then stopped.
inline constexpr int kExitReplayCut = 4;

// What a replayed disk looks like to the guest (its file is not opened).
struct ReplayDiskInfo {
  uint64_t capacity_sectors = 0;
  bool read_only = false;
  bool discard = false;
  std::string serial;
};

// A test aid: change the nth input of a kind (1-based) as it is replayed,
// to check that the difference is caught.
struct Perturb {
  replay::Kind kind = replay::Kind::kConsole;
  uint64_t nth = 1;
};
// "console:N", "net:N", "disk:N", "rng:N"; throws Error.
Perturb parse_perturb(const std::string& text);

class Journal {
 public:
  static constexpr uint64_t kDefaultCheckpointInterval = uint64_t{1} << 24;
  // Reads larger than this fail while recording (Linux asks for 1.25 MiB
  // at most), so that one record stays far below replay::kMaxRecordBytes.
  static constexpr uint64_t kMaxDiskRead = uint64_t{32} << 20;

  // Recording: the log is opened by start_recording() once the VM is loaded.
  // Until then (and after stop_recording()) the journal stands by: inputs
  // pass straight through and nothing is logged, so that `vessel ctl record
  // start` can begin a recording on a VM that is already running.
  explicit Journal(uint64_t checkpoint_interval);
  // Replaying `reader` (already validated).
  Journal(std::unique_ptr<replay::LogReader> reader, std::optional<Perturb> perturb);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // True while a log is being written.
  bool recording() const { return !replaying_ && writer_ != nullptr && !closed_; }
  bool replaying() const { return replaying_; }

  // Recording: the log's header (what the replay needs to rebuild the
  // devices) and the writer. The starting state, taken at instruction
  // `start` (the VM's retired count), is written by the caller. Between
  // rounds, with no disk request in flight (a snapshot was just taken).
  void start_recording(std::unique_ptr<replay::LogWriter> writer, uint64_t start = 0);
  nlohmann::json header(uint64_t max_instructions, uint64_t start = 0) const;
  // From now on (the recording's or the replay's start) the guest memory
  // written between two checkpoints is hashed into the second one, through
  // the dirty log (memory/guest_memory.hpp), so a difference in memory is
  // caught near where it happens and not only in the final state hash.
  void watch_memory(GuestMemory& memory);
  // Replaying under reverse debugging, whose checkpoints own the dirty log:
  // the recorded memory hashes are not checked.
  void ignore_memory_hashes() { ignore_memory_ = true; }
  // `vessel ctl record stop`: the log ends at the scheduler's next stop
  // (where the replay stops too, and compares the whole state); the VM runs
  // on, not recorded. `on_stopped` runs then, on the VM thread.
  void stop_recording(std::function<void()> on_stopped);
  bool stop_pending() const { return stop_recording_ != nullptr; }
  // Replaying: the disks as the header describes them.
  ReplayDiskInfo replay_disk_info(unsigned index) const;
  uint64_t replay_max_instructions() const;

  // ---- the scheduler (Machine) ----
  void round_start() { in_round_ = true; }
  // After every round of slices. Recording: hands over waiting frames and
  // writes a checkpoint when one is due; replaying: delivers this stop's
  // inputs and checks its checkpoint. Returns an exit status when the run
  // must end here (the host asked for it; or the replay diverged).
  std::optional<int> boundary(Machine& m, uint64_t retired);
  // Recording: a signal, --timeout or Ctrl-a x asked to stop. The run ends at
  // the next stop of the scheduler (which the replay then ends at too).
  void stop_from_host(int status);
  bool stop_requested() const { return host_stop_.has_value(); }
  // After the run. Recording: writes the end record; replaying: compares
  // with it. Prints the state hash; returns the exit status to use.
  int finish(Machine& m, int status);

  // ---- inputs ----
  // Recording: console bytes the device took.
  void console_input(std::span<const uint8_t> bytes);
  // An SBI or HTIF console read: `host` reads the terminal while recording.
  int console_read(const std::function<int()>& host);
  // virtio-rng's source.
  size_t rng(std::span<uint8_t> out);
  // The block backend of disk `index`: while recording, `inner` wrapped;
  // while replaying, one that does no I/O (inner is null).
  std::unique_ptr<BlockBackend> disk_backend(unsigned index, std::unique_ptr<BlockBackend> inner);
  void attach_disk(unsigned index, virtio::VirtioBlk* device);
  // The network backend virtio-net `index` talks to: while recording, one
  // that passes frames to `inner` and holds the frames `inner` delivers
  // until the next stop; while replaying (inner null), one that drops what
  // the guest sends.
  std::unique_ptr<net::NetBackend> net_backend(unsigned index,
                                               std::unique_ptr<net::NetBackend> inner);
  // The host backend inside an adapter net_backend() made (null when
  // replaying): the machine's event loop polls it.
  static net::NetBackend* net_inner(net::NetBackend* adapter);

  // For the bench and --stats.
  uint64_t log_bytes() const { return writer_ ? writer_->bytes_written() : 0; }
  // Replaying a log that was cut (its recording was killed): the replay
  // stopped where it ends, and returns kExitReplayCut.
  bool cut() const { return cut_reported_; }

  // ---- reverse debugging (vm/replay_history.hpp) ----
  // Replaying, between rounds, with no disk request in flight: where the
  // replay stands in the log, to come back to with rewind() (which also
  // forgets a divergence found since).
  struct Mark {
    replay::LogReader::Position reader;
    std::optional<replay::Record> pending;
    uint64_t stamp_instructions = 0, stamp_sub = 0;
    uint64_t net_frames = 0, net_hash = 0;
    uint64_t perturb_seen = 0;
    bool perturbed = false;
    uint64_t perturbed_at = 0;
    uint64_t checkpoints_checked = 0, last_good_checkpoint = 0;
  };
  Mark mark() const;
  void rewind(const Mark& m);
  bool diverged() const { return diverged_.has_value(); }

  class DiskAdapter;
  class NetAdapter;

 private:
  friend class DiskAdapter;
  friend class NetAdapter;
  struct Stamp {
    uint64_t instructions = 0;
    uint64_t sub = 0;
    bool operator==(const Stamp&) const = default;
    bool operator<(const Stamp& o) const {
      return instructions < o.instructions || (instructions == o.instructions && sub < o.sub);
    }
  };
  void log(replay::Kind kind, std::span<const uint8_t> payload);
  void log_disk(unsigned index, std::span<const replay::DiskCompletion> done);
  replay::Checkpoint checkpoint(Machine& m);
  std::string state_hash(Machine& m);
  // Recording: writes the end record at this stop and closes the log.
  void end_log(Machine& m, int status, uint8_t how);
  // Replaying.
  void advance();
  void pump(Machine& m);
  std::optional<replay::Record> take_sync(replay::Kind kind);
  void diverge(const std::string& what);
  void perturb(replay::Record& r);
  bool is_sync(replay::Kind kind) const;
  std::vector<replay::DiskCompletion> take_disk_drain(unsigned index);

  bool replaying_ = false;
  bool closed_ = false;  // after finish(): devices going away log nothing more
  bool in_round_ = false;
  Stamp stamp_;
  uint64_t checkpoint_interval_ = kDefaultCheckpointInterval;
  uint64_t next_checkpoint_ = 0;
  std::optional<int> host_stop_;
  uint64_t net_frames_ = 0;
  uint64_t net_hash_ = 0;
  std::vector<DiskAdapter*> disks_;
  std::vector<virtio::VirtioBlk*> disk_devices_;
  std::vector<NetAdapter*> nets_;
  Machine* machine_ = nullptr;  // set by boundary(), for inputs delivered outside it

  // Recording.
  std::unique_ptr<replay::LogWriter> writer_;
  uint64_t last_flush_ns_ = 0;
  std::function<void()> stop_recording_;  // `record stop` asked, for the next stop

  // Replaying.
  std::unique_ptr<replay::LogReader> reader_;
  std::optional<replay::Record> pending_;
  std::optional<Perturb> perturb_;
  uint64_t perturb_seen_ = 0;
  std::optional<std::string> diverged_;
  uint64_t checkpoints_checked_ = 0;
  uint64_t last_good_checkpoint_ = 0;
  bool perturbed_ = false;
  uint64_t perturbed_at_ = 0;
  GuestMemory* memory_ = nullptr;  // watch_memory()
  bool ignore_memory_ = false;
  std::optional<std::string> stopped_hash_;  // a `record stop` end: hashed at its stop
  bool cut_reported_ = false;
};

}  // namespace vessel
