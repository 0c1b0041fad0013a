// Measured launch: one SHA-256 digest over everything that decides what a
// freshly booted guest is (`vessel run --measure`), so that two launches
// with the same digest started the same software on the same machine.
//
// Format, version 1. The digest is SHA-256 over a sequence of items, each
// framed as its length (8 bytes, little-endian) followed by its bytes, so
// the sequence has one reading only (moving a byte from the end of one item
// to the start of the next changes the digest). The items, in this order:
//
//   "vessel-launch-digest-v1"
//   "machine"      the machine description below, as compact JSON, keys sorted
//   "firmware"     the --bios file as it was read and loaded (empty without --bios)
//   "kernel"       the --kernel Image as read and loaded (empty for a bare-metal program)
//   "initrd"       the --initrd file (empty without one)
//   "cmdline"      the kernel command line (a guest command after -- is part of it)
//   "device-tree"  the flattened device tree vessel generated and gave the guest,
//                  with the 32 bytes of /chosen/vessel,launch-digest all zero
//
// The machine description: {"cpus":N, "devices":[...], "firmware":F,
// "memory":BYTES}, F being "bios" with --bios and "vessel-sbi VERSION" when
// vessel's own SBI runs the kernel (it is then the firmware, and it comes
// with vessel). "devices" lists the virtio devices in slot order (the order
// of their MMIO addresses): {"type":"virtio-blk","sectors":N,"read_only":B},
// {"type":"virtio-net","mac":"52:54:00:12:34:56"}, {"type":"virtio-rng"},
// {"type":"virtio-balloon"}, {"type":"virtio-console"}.
//
// Not measured, because they do not change the guest that starts (or are not
// known at launch): host paths, disk contents, a disk's serial (it names the
// host file), whether the host file system offers discard, network backends
// and port forwards, the engine and its tuning, --deterministic, page
// sharing, limits, the control socket and the attestation key.
//
// The guest reads its digest from the device tree, /chosen/vessel,launch-digest
// (32 bytes). The device tree is itself measured, so it is measured with that
// property zero-filled and the digest written into it afterwards.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/crypto.hpp"
#include "devices/virtio/virtio_device.hpp"

namespace vessel {

using crypto::Sha256Digest;

struct LaunchInputs {
  nlohmann::json machine;  // describe_machine()
  std::span<const uint8_t> firmware;
  std::span<const uint8_t> kernel;
  std::span<const uint8_t> initrd;
  std::string_view cmdline;
  std::span<const uint8_t> device_tree;  // with the digest property zero-filled
};

Sha256Digest launch_digest(const LaunchInputs& inputs);

// The "machine" item. `builtin_sbi`: vessel's SBI runs the kernel (no --bios).
nlohmann::json describe_machine(uint64_t memory_bytes, unsigned cpus, bool builtin_sbi,
                                std::span<virtio::VirtioDevice* const> devices);

// "sha256:" and 64 hex digits; parse_digest also takes the hex digits alone,
// in either case. nullopt for anything else.
std::string format_digest(const Sha256Digest& digest);
std::optional<Sha256Digest> parse_digest(std::string_view text);

}  // namespace vessel
