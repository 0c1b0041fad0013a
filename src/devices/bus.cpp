#include "devices/bus.hpp"

#include <algorithm>
#include <stdexcept>

namespace vessel {

void Bus::map(uint64_t base, uint64_t size, MmioDevice* device, std::string name) {
  if (size == 0 || base + size < base) throw std::logic_error("bus: bad region " + name);
  for (const Region& r : regions_) {
    if (base < r.base + r.size && r.base < base + size) {
      throw std::logic_error("bus: region " + name + " overlaps " + r.name);
    }
  }
  regions_.push_back({base, size, device, std::move(name)});
  std::sort(regions_.begin(), regions_.end(),
            [](const Region& a, const Region& b) { return a.base < b.base; });
  last_ = nullptr;
}

Bus::Region* Bus::find(uint64_t addr, unsigned size) {
  auto inside = [&](const Region& r) {
    return addr >= r.base && addr - r.base < r.size && size <= r.size - (addr - r.base);
  };
  if (last_ != nullptr && inside(*last_)) return last_;
  // Few regions (a dozen on the virt board): a linear scan beats a tree here.
  for (Region& r : regions_) {
    if (inside(r)) {
      last_ = &r;
      return &r;
    }
  }
  return nullptr;
}

bool Bus::read(uint64_t addr, unsigned size, uint64_t& value) {
  std::unique_lock lock = device_lock();
  Region* r = find(addr, size);
  if (r == nullptr) return false;
  return r->device->mmio_read(addr - r->base, size, value);
}

bool Bus::write(uint64_t addr, unsigned size, uint64_t value) {
  std::unique_lock lock = device_lock();
  Region* r = find(addr, size);
  if (r == nullptr) return false;
  return r->device->mmio_write(addr - r->base, size, value);
}

}  // namespace vessel
