// The MMIO bus: guest-physical accesses that are not RAM are dispatched here,
// by address range, to devices. Devices see offsets relative to their base.
#pragma once

#include <cstdint>
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

 private:
  Region* find(uint64_t addr, unsigned size);

  std::vector<Region> regions_;  // sorted by base
  Region* last_ = nullptr;       // most recently hit region, checked first
};

}  // namespace vessel
