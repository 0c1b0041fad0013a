// Memory system calls: brk, mmap, munmap, mprotect, mremap, madvise, msync.
// The guest's view of its mappings and protections is the AddressSpace's;
// the host only ever sees fixed mappings inside the reservation.
#include <sys/mman.h>

#include <mutex>

#include "user/sys_util.hpp"

namespace vessel::user {

namespace {

constexpr uint64_t kMapShared = 0x01, kMapPrivate = 0x02, kMapSharedValidate = 0x03,
                   kMapFixed = 0x10, kMapAnonymous = 0x20, kMapFixedNoreplace = 0x100000;
constexpr uint64_t kMremapMaymove = 1, kMremapFixed = 2;

uint32_t guest_prot(uint64_t prot) {
  return static_cast<uint32_t>(prot) & (kProtRead | kProtWrite | kProtExec);
}

int64_t sys_brk(Thread& t, const SyscallArgs& a) {
  const std::lock_guard guard(t.space().mutex());  // one change, whole
  Process& p = t.process();
  const uint64_t want = a.a[0];
  if (want < p.brk_start || want >= AddressSpace::kLimit) return static_cast<int64_t>(p.brk);
  const uint64_t old_end = AddressSpace::page_up(p.brk);
  const uint64_t new_end = AddressSpace::page_up(want);
  if (new_end > old_end) {
    if (!t.space().is_free(old_end, new_end - old_end)) return static_cast<int64_t>(p.brk);
    t.space().map_anonymous(old_end, new_end - old_end, kProtRead | kProtWrite);
  } else if (new_end < old_end) {
    t.space().unmap(new_end, old_end - new_end);
  }
  p.brk = want;
  return static_cast<int64_t>(p.brk);
}

int64_t sys_mmap(Thread& t, const SyscallArgs& a) {
  const std::lock_guard guard(t.space().mutex());  // one change, whole
  const uint64_t hint = a.a[0];
  const uint64_t flags = a.a[3];
  const uint64_t offset = a.a[5];
  if (a.a[1] == 0 || a.a[1] > AddressSpace::kLimit) return a.a[1] == 0 ? -EINVAL : -ENOMEM;
  const uint64_t len = AddressSpace::page_up(a.a[1]);
  const uint64_t type = flags & 0xf;
  if (type != kMapShared && type != kMapPrivate && type != kMapSharedValidate) return -EINVAL;
  const bool shared = type != kMapPrivate;
  if ((offset & (AddressSpace::kPageSize - 1)) != 0) return -EINVAL;
  uint64_t at = 0;
  if ((flags & (kMapFixed | kMapFixedNoreplace)) != 0) {
    if ((hint & (AddressSpace::kPageSize - 1)) != 0) return -EINVAL;
    if (!AddressSpace::valid_range(hint, len)) return -ENOMEM;
    if ((flags & kMapFixed) == 0 && !t.space().is_free(hint, len)) return -EEXIST;
    at = hint;
  } else {
    at = t.space().find_free(len, hint);
    if (at == 0) return -ENOMEM;
  }
  const uint32_t prot = guest_prot(a.a[2]);
  int err = 0;
  if ((flags & kMapAnonymous) != 0) {
    if (shared) {
      err = t.space().map_shared_anonymous(at, len, prot);
    } else {
      t.space().map_anonymous(at, len, prot);
    }
  } else {
    err = t.space().map_file(at, len, prot, shared, a.fd(4), offset);
  }
  if (err != 0) return -err;
  return static_cast<int64_t>(at);
}

int64_t sys_munmap(Thread& t, const SyscallArgs& a) {
  if (a.a[1] == 0 || (a.a[0] & (AddressSpace::kPageSize - 1)) != 0) return -EINVAL;
  const uint64_t len = AddressSpace::page_up(a.a[1]);
  if (!AddressSpace::valid_range(a.a[0], len)) return -EINVAL;
  t.space().unmap(a.a[0], len);
  return 0;
}

int64_t sys_mprotect(Thread& t, const SyscallArgs& a) {
  if ((a.a[0] & (AddressSpace::kPageSize - 1)) != 0) return -EINVAL;
  if (a.a[1] == 0) return 0;
  const uint64_t len = AddressSpace::page_up(a.a[1]);
  if (!AddressSpace::valid_range(a.a[0], len)) return -ENOMEM;
  return -t.space().protect(a.a[0], len, guest_prot(a.a[2]));
}

int64_t sys_mremap(Thread& t, const SyscallArgs& a) {
  const std::lock_guard guard(t.space().mutex());  // one change, whole
  const uint64_t old_addr = a.a[0];
  const uint64_t flags = a.a[3];
  if ((old_addr & (AddressSpace::kPageSize - 1)) != 0 || a.a[2] == 0) return -EINVAL;
  if ((flags & ~(kMremapMaymove | kMremapFixed)) != 0) return -EINVAL;
  if ((flags & kMremapFixed) != 0 && (flags & kMremapMaymove) == 0) return -EINVAL;
  const uint64_t old_len = AddressSpace::page_up(a.a[1]);
  const uint64_t new_len = AddressSpace::page_up(a.a[2]);
  if (old_len == 0 || !AddressSpace::valid_range(old_addr, old_len) ||
      new_len > AddressSpace::kLimit) {
    return -EINVAL;
  }
  const int prot = t.space().prot_at(old_addr);
  if (prot < 0) return -EFAULT;
  for (uint64_t v = old_addr; v < old_addr + old_len; v += AddressSpace::kPageSize) {
    if (t.space().prot_at(v) < 0) return -EFAULT;
  }
  if ((flags & kMremapFixed) == 0) {
    if (new_len <= old_len) {
      if (new_len < old_len) t.space().unmap(old_addr + new_len, old_len - new_len);
      return static_cast<int64_t>(old_addr);
    }
    const uint64_t extra = new_len - old_len;
    if (AddressSpace::valid_range(old_addr + old_len, extra) &&
        t.space().is_free(old_addr + old_len, extra)) {
      t.space().map_anonymous(old_addr + old_len, extra, static_cast<uint32_t>(prot));
      return static_cast<int64_t>(old_addr);
    }
    if ((flags & kMremapMaymove) == 0) return -ENOMEM;
  }
  uint64_t to = 0;
  if ((flags & kMremapFixed) != 0) {
    to = a.a[4];
    if (!AddressSpace::valid_range(to, new_len)) return -EINVAL;
    if (to < old_addr + old_len && old_addr < to + new_len) return -EINVAL;  // overlap
    t.space().unmap(to, new_len);
  } else {
    to = t.space().find_free(new_len, 0);
    if (to == 0) return -ENOMEM;
  }
  const uint64_t keep = std::min(old_len, new_len);
  if (const int err = t.space().move(old_addr, keep, to)) return -err;
  if (old_len > keep) t.space().unmap(old_addr + keep, old_len - keep);
  if (new_len > keep)
    t.space().map_anonymous(to + keep, new_len - keep, static_cast<uint32_t>(prot));
  return static_cast<int64_t>(to);
}

// For madvise and msync: the range (a0, a1) page-aligned and wholly mapped.
// Returns 0 with `len` set (0: nothing to do), or a negative errno.
int64_t mapped_range(Thread& t, const SyscallArgs& a, uint64_t& len) {
  if ((a.a[0] & (AddressSpace::kPageSize - 1)) != 0) return -EINVAL;
  len = AddressSpace::page_up(a.a[1]);
  if (len == 0) return 0;
  if (!AddressSpace::valid_range(a.a[0], len)) return -ENOMEM;
  for (uint64_t v = a.a[0]; v < a.a[0] + len; v += AddressSpace::kPageSize) {
    if (t.space().prot_at(v) < 0) return -ENOMEM;
  }
  return 0;
}

int64_t sys_madvise(Thread& t, const SyscallArgs& a) {
  uint64_t len = 0;
  if (const int64_t err = mapped_range(t, a, len); err != 0 || len == 0) return err;
  const int advice = static_cast<int>(a.a[2]);
  if (advice == MADV_DONTNEED) {
    // Observable: the pages read as zero (or as the file) afterwards.
    t.space().memory().notify_code_write(a.a[0], len);
    if (madvise(t.space().memory().host_base() + a.a[0], len, MADV_DONTNEED) != 0) return -errno;
  }
  return 0;  // the rest is advice
}

int64_t sys_msync(Thread& t, const SyscallArgs& a) {
  uint64_t len = 0;
  if (const int64_t err = mapped_range(t, a, len); err != 0 || len == 0) return err;
  return host_result(msync(t.space().memory().host_base() + a.a[0], len, static_cast<int>(a.a[2])));
}

int64_t sys_nop(Thread& t, const SyscallArgs& a) {
  return 0;
}

}  // namespace

void add_memory_syscalls(SyscallTable& t) {
  t.add(214, "brk", sys_brk, "p");
  t.add(215, "munmap", sys_munmap, "pu");
  t.add(216, "mremap", sys_mremap, "puuxp");
  t.add(222, "mmap", sys_mmap, "puxxfx");
  t.add(226, "mprotect", sys_mprotect, "pux");
  t.add(227, "msync", sys_msync, "pux");
  t.add(228, "mlock", sys_nop, "pu");
  t.add(229, "munlock", sys_nop, "pu");
  t.add(230, "mlockall", sys_nop, "x");
  t.add(231, "munlockall", sys_nop, "");
  t.add(233, "madvise", sys_madvise, "pud");
}

}  // namespace vessel::user
