// Board descriptions from the fuzz input: building the tree either fails
// with vessel::Error or yields a blob libfdt fully accepts and that reads
// back what was asked for.
#include <fuzzer/FuzzedDataProvider.h>
#include <libfdt.h>

#include <cstring>
#include <string>

#include "base/error.hpp"
#include "mmio_ops.hpp"
#include "platform/fdt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vessel;
  FuzzedDataProvider in(data, size);
  BoardDescription b;
  b.num_harts = in.ConsumeIntegralInRange<unsigned>(0, virt::kMaxHarts + 2);
  b.ram_base = in.ConsumeBool() ? virt::kDramBase : in.ConsumeIntegral<uint64_t>();
  b.ram_size = in.ConsumeIntegral<uint64_t>();
  b.uart = in.ConsumeBool();
  b.test_finisher = in.ConsumeBool();
  b.pvpanic = in.ConsumeBool();
  if (in.ConsumeBool()) b.initrd_start = in.ConsumeIntegral<uint64_t>();
  if (in.ConsumeBool()) b.initrd_end = in.ConsumeIntegral<uint64_t>();
  const unsigned slots = in.ConsumeIntegralInRange<unsigned>(0, 12);
  for (unsigned i = 0; i < slots; ++i) {
    b.virtio.push_back(
        {in.ConsumeIntegral<uint64_t>(), in.ConsumeIntegralInRange<uint32_t>(0, 100)});
  }
  b.isa = in.ConsumeRandomLengthString(64);
  b.mmu_type = in.ConsumeRandomLengthString(32);
  b.bootargs = in.ConsumeRandomLengthString(80'000);

  std::vector<uint8_t> blob;
  try {
    blob = build_device_tree(b);
  } catch (const Error&) {
    return 0;  // refused: fine, as long as it is the documented error
  }
  FUZZ_CHECK(blob.size() <= 64 * 1024);
  FUZZ_CHECK(fdt_check_full(blob.data(), blob.size()) == 0);
  const void* fdt = blob.data();
  int cpus = 0;
  const int cpus_node = fdt_path_offset(fdt, "/cpus");
  FUZZ_CHECK(cpus_node >= 0);
  int node;
  fdt_for_each_subnode(node, fdt, cpus_node) {
    if (std::strncmp(fdt_get_name(fdt, node, nullptr), "cpu@", 4) == 0) ++cpus;
  }
  FUZZ_CHECK(cpus == static_cast<int>(b.num_harts));
  const auto* bootargs = static_cast<const char*>(
      fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "bootargs", nullptr));
  if (b.bootargs.empty()) {
    FUZZ_CHECK(bootargs == nullptr);
  } else {
    FUZZ_CHECK(bootargs != nullptr && bootargs == b.bootargs);
  }
  const auto* isa = static_cast<const char*>(
      fdt_getprop(fdt, fdt_path_offset(fdt, "/cpus/cpu@0"), "riscv,isa", nullptr));
  FUZZ_CHECK(isa != nullptr && isa == b.isa);
  return 0;
}
