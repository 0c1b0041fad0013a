// Writes a function returning `v` (0 <= v < 2048) at `at`, in the machine
// code of whatever this is built for (RISC-V under vessel, x86-64 natively),
// so the self-modifying-code programs print the same either way.
#pragma once
#include <stdint.h>
#include <string.h>

static void emit(uint8_t* at, long v) {
#if defined(__riscv)
  const uint32_t code[2] = {0x00000513u | ((uint32_t)v << 20), 0x00008067u};  // li a0, v; ret
  memcpy(at, code, sizeof code);
#elif defined(__x86_64__)
  const uint8_t code[6] = {0xb8, (uint8_t)v, (uint8_t)(v >> 8), 0, 0, 0xc3};  // mov eax, v; ret
  memcpy(at, code, sizeof code);
#else
#error "unknown host"
#endif
  __builtin___clear_cache((char*)at, (char*)at + 16);
}
