// The MMIO bus: guest-physical accesses that are not RAM are dispatched here,
// by address range, to devices. Devices see offsets relative to their base.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace vessel {

// A device register window. Accesses are 1, 2, 4 or 8 bytes, naturally
// aligned within the window as the hart delivers them. Returning false makes
// the access an access fault for the guest (like a bus error on hardware).
class MmioDevice {
 public:
  virtual ~MmioDevice() = default;
  virtual bool mmio_read(uint64_t offset, unsigned size, uint64_t& value) = 0;
  virtual bool mmio_write(uint64_t offset, unsigned size, uint64_t value) = 0;
};

class Bus {
 public:
  struct Region {
    uint64_t base;
    uint64_t size;
    MmioDevice* device;
    std::string name;
  };

  // Maps `device` at [base, base + size). Overlapping regions are a
  // programming error and throw.
  void map(uint64_t base, uint64_t size, MmioDevice* device, std::string name);

  // False if no device claims the whole access, or the device refuses it.
  bool read(uint64_t addr, unsigned size, uint64_t& value);
  bool write(uint64_t addr, unsigned size, uint64_t value);

  const std::vector<Region>& regions() const { return regions_; }

  // The lock every device behind this bus is used under, from any thread:
  // harts on their own threads (an access holds it throughout), the VM's
  // event loop, vessel's SBI. Devices are small state machines that do
  // little per access, so one lock (as QEMU's BQL) costs little and keeps
  // them simple. Not recursive: a device must not call back into the bus.
  std::unique_lock<std::mutex> device_lock() { return std::unique_lock(device_mutex_); }
  std::mutex& device_mutex() { return device_mutex_; }

 private:
  Region* find(uint64_t addr, unsigned size);

  std::vector<Region> regions_;  // sorted by base
  Region* last_ = nullptr;       // most recently hit region, checked first
  std::mutex device_mutex_;
};

}  // namespace vessel
