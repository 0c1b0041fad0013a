# Building bare-metal RISC-V C programs for vessel (M-mode, QEMU `virt`
# layout) with riscv64-unknown-elf-gcc + picolibc and the runtime in tests/rt.
#
#   include(${CMAKE_SOURCE_DIR}/tests/rt/BareMetal.cmake)
#   vessel_baremetal_program(<target> SOURCES a.c b.c
#                            [CFLAGS -DX=1 ...] [INCLUDES dir ...]
#                            [DEPENDS file ...] [OUTPUT_NAME name])
#
# creates the custom target <target> (built by `all`) producing
# ${CMAKE_CURRENT_BINARY_DIR}/<name>.elf (name defaults to <target>) and sets
# <target>_ELF in the caller's scope plus the target property VESSEL_ELF.
# The project's own compilers are not involved.
include_guard(DIRECTORY)

find_program(VESSEL_RISCV_CC riscv64-unknown-elf-gcc REQUIRED)

set(VESSEL_RT_DIR ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "vessel bare-metal runtime")
set(VESSEL_RT_SOURCES ${VESSEL_RT_DIR}/crt0.S ${VESSEL_RT_DIR}/rt.c)
set(VESSEL_RT_LINKER_SCRIPT ${VESSEL_RT_DIR}/link.ld)

# -ffp-contract=off: no implicit fused multiply-add, so floating-point results
# match the x86-64 host builds bit for bit (tests/diff, bench) and the ISA
# tests' hand-computed expectations.
set(VESSEL_BAREMETAL_CFLAGS
    -march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -static -g
    -ffp-contract=off -Wall -Wextra -Wno-unused-parameter
    --specs=picolibc.specs -nostartfiles -T ${VESSEL_RT_LINKER_SCRIPT})

function(vessel_baremetal_program name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "OUTPUT_NAME" "SOURCES;CFLAGS;INCLUDES;DEPENDS")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "vessel_baremetal_program(${name}): no SOURCES")
  endif()
  if(NOT ARG_OUTPUT_NAME)
    set(ARG_OUTPUT_NAME ${name})
  endif()
  set(elf ${CMAKE_CURRENT_BINARY_DIR}/${ARG_OUTPUT_NAME}.elf)

  set(sources "")
  set(headers "")
  set(include_flags -I${VESSEL_RT_DIR})
  foreach(src IN LISTS ARG_SOURCES)
    cmake_path(ABSOLUTE_PATH src BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} NORMALIZE)
    list(APPEND sources ${src})
    cmake_path(GET src PARENT_PATH dir)
    list(APPEND include_flags -I${dir})
    file(GLOB dir_headers CONFIGURE_DEPENDS ${dir}/*.h)
    list(APPEND headers ${dir_headers})
  endforeach()
  foreach(dir IN LISTS ARG_INCLUDES)
    cmake_path(ABSOLUTE_PATH dir BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} NORMALIZE)
    list(APPEND include_flags -I${dir})
    file(GLOB dir_headers CONFIGURE_DEPENDS ${dir}/*.h)
    list(APPEND headers ${dir_headers})
  endforeach()
  list(REMOVE_DUPLICATES include_flags)
  list(REMOVE_DUPLICATES headers)

  add_custom_command(
    OUTPUT ${elf}
    COMMAND ${VESSEL_RISCV_CC} ${VESSEL_BAREMETAL_CFLAGS} ${ARG_CFLAGS} ${include_flags}
            -o ${elf} ${VESSEL_RT_SOURCES} ${sources}
    DEPENDS ${VESSEL_RT_SOURCES} ${VESSEL_RT_LINKER_SCRIPT} ${VESSEL_RT_DIR}/vessel_rt.h
            ${VESSEL_RT_DIR}/BareMetal.cmake ${sources} ${headers} ${ARG_DEPENDS}
    COMMENT "Building bare-metal RISC-V program ${ARG_OUTPUT_NAME}.elf"
    VERBATIM)
  add_custom_target(${name} ALL DEPENDS ${elf})
  set_target_properties(${name} PROPERTIES VESSEL_ELF ${elf})
  set(${name}_ELF ${elf} PARENT_SCOPE)
endfunction()

# Optional: also run guest programs under QEMU (validates the programs
# themselves, independently of vessel). Off by default.
option(VESSEL_QEMU_REFERENCE_TESTS "Also register qemu.* CTest tests running guest programs under qemu-system-riscv64" OFF)
if(VESSEL_QEMU_REFERENCE_TESTS)
  find_program(VESSEL_QEMU_RISCV64 qemu-system-riscv64 REQUIRED)
endif()
set(VESSEL_RT_RUN_QEMU ${VESSEL_RT_DIR}/run-qemu.sh)
