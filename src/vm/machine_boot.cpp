// Loading a guest into a Machine: a bare-metal program or firmware, or a
// Linux kernel (with vessel's SBI or M-mode firmware), the device tree, and
// the measured launch's digest.
#include <string>

#include "base/error.hpp"
#include "base/mapped_file.hpp"
#include "platform/fdt.hpp"
#include "platform/virt_map.hpp"
#include "vm/boot.hpp"
#include "vm/elf_loader.hpp"
#include "vm/machine.hpp"
#include "vm/sbi_glue.hpp"

namespace vessel {

namespace {

std::string isa_string() {
  return "rv64imafdc_zicsr_zifencei_zba_zbb_zbs";
}

}  // namespace

std::vector<uint8_t> Machine::device_tree(std::optional<uint64_t> initrd_start,
                                          std::optional<uint64_t> initrd_end) {
  BoardDescription board;
  board.num_harts = config_.cpus;
  board.isa = isa_string();
  board.mmu_type = "riscv,sv48";
  board.ram_base = memory_->base();
  board.ram_size = memory_->size();
  board.bootargs = config_.cmdline;
  board.initrd_start = initrd_start;
  board.initrd_end = initrd_end;
  board.pvpanic = true;
  board.launch_digest = config_.measure_launch;
  for (unsigned i = 0; i < virtio_.size(); ++i) {
    board.virtio.push_back({virt::kVirtioBase + i * virt::kVirtioStride, virt::kVirtioIrqBase + i});
  }
  return build_device_tree(board);
}

void Machine::load() {
  if (loaded_ || restored_) return;
  loaded_ = true;
  if (!config_.kernel.empty()) {
    boot_linux();
    return;
  }
  if (config_.bios.empty()) fail("nothing to run: give --bios PROGRAM or --kernel IMAGE");
  boot_bare_metal(MappedFile::open(config_.bios, "bios").bytes());
}

// A bare-metal program or firmware alone: every hart starts at its entry in
// M-mode with a0 = hart id and a1 = the device tree, as on QEMU's virt board.
void Machine::boot_bare_metal(std::span<const uint8_t> image) {
  uint64_t entry = memory_->base();
  if (looks_like_elf(image)) {
    const ElfProgram prog = load_elf(image, config_.bios, *memory_);
    entry = prog.entry;
    tohost_ = prog.tohost;
    fromhost_ = prog.fromhost;
    if (tohost_) {
      if (!memory_->contains(*tohost_, 8)) fail("'{}': tohost is outside guest RAM", config_.bios);
      memory_->set_page_flags(*tohost_, GuestMemory::kPageWatch);
    }
  } else {
    load_raw(image, config_.bios, *memory_, memory_->base());
  }
  std::vector<uint8_t> dtb = device_tree(std::nullopt, std::nullopt);
  measure_launch(image, {}, {}, dtb);
  const uint64_t dtb_addr = place_device_tree(dtb, *memory_);
  for (unsigned i = 0; i < harts_.size(); ++i) {
    harts_[i]->reset(entry, rv::Priv::kMachine);
    harts_[i]->x[10] = i;
    harts_[i]->x[11] = dtb_addr;
    running_[i] = true;
  }
}

void Machine::boot_linux() {
  // Each file is mapped once: what is measured is what is loaded.
  const MappedFile kernel_file = MappedFile::open(config_.kernel, "kernel");
  MappedFile initrd_file, bios_file;
  if (!config_.initrd.empty()) initrd_file = MappedFile::open(config_.initrd, "initrd");
  if (!config_.bios.empty()) bios_file = MappedFile::open(config_.bios, "bios");
  const std::span<const uint8_t> kernel = kernel_file.bytes();
  const std::span<const uint8_t> initrd = initrd_file.bytes();
  const std::span<const uint8_t> bios = bios_file.bytes();
  const LinuxImage image = parse_linux_image(kernel, config_.kernel);

  LinuxLayout layout = plan_linux_layout(image, initrd.size(), *memory_);
  std::optional<uint64_t> initrd_start, initrd_end;
  if (!initrd.empty()) {
    initrd_start = layout.initrd;
    initrd_end = layout.initrd + initrd.size();
  }
  // The device tree's size depends on its contents; build it, then place it.
  std::vector<uint8_t> dtb = device_tree(initrd_start, initrd_end);
  measure_launch(bios, kernel, initrd, dtb);
  if (dtb.size() > layout.dtb_room) fail("device tree too large ({} bytes)", dtb.size());
  memory_->write(layout.dtb, dtb);
  memory_->write(layout.kernel, kernel);
  if (!initrd.empty()) memory_->write(layout.initrd, initrd);

  if (config_.bios.empty()) {
    // vessel's own SBI: hart 0 enters the kernel in S-mode; the others wait
    // for SBI HSM hart_start.
    sbi_ = std::make_unique<SbiFirmware>(*this);
    start_hart(0, layout.kernel, layout.dtb);
    return;
  }
  // M-mode firmware (OpenSBI fw_dynamic or fw_jump) at the start of RAM;
  // all harts enter it, it picks a boot hart and starts the kernel.
  uint64_t entry = memory_->base();
  if (looks_like_elf(bios)) {
    entry = load_elf(bios, config_.bios, *memory_).entry;
  } else {
    load_raw(bios, config_.bios, *memory_, memory_->base());
  }
  const uint64_t info = write_fw_dynamic_info(*memory_, layout);
  for (unsigned i = 0; i < harts_.size(); ++i) {
    harts_[i]->reset(entry, rv::Priv::kMachine);
    harts_[i]->x[10] = i;
    harts_[i]->x[11] = layout.dtb;
    harts_[i]->x[12] = info;
    running_[i] = true;
  }
}

void Machine::measure_launch(std::span<const uint8_t> firmware, std::span<const uint8_t> kernel,
                             std::span<const uint8_t> initrd, std::vector<uint8_t>& dtb) {
  if (!config_.measure_launch) return;
  std::vector<virtio::VirtioDevice*> devices;
  for (const auto& mmio : virtio_) devices.push_back(&mmio->device());
  LaunchInputs inputs;
  inputs.machine = describe_machine(config_.mem_size, config_.cpus, config_.bios.empty(), devices);
  inputs.firmware = firmware;
  inputs.kernel = kernel;
  inputs.initrd = initrd;
  inputs.cmdline = kernel.empty() ? std::string_view() : config_.cmdline;
  inputs.device_tree = dtb;  // its digest property is still zero
  launch_digest_ = vessel::launch_digest(inputs);
  fill_launch_digest(dtb, *launch_digest_);
  spdlog::info("launch-digest={}", format_digest(*launch_digest_));
}

}  // namespace vessel
