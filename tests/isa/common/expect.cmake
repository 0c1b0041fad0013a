# Runs one ISA test ELF under vessel and checks its exit status and output.
#   -DVESSEL=path -DELF=path -DMAX_INSTRUCTIONS=n
#   -DEXPECT_RC=<number>|nonzero   -DEXPECT_REGEX=<regex on stdout+stderr>
#   -DVESSEL_ARGS="<more vessel run arguments>" (optional, e.g. "--engine jit")
separate_arguments(extra_args UNIX_COMMAND "${VESSEL_ARGS}")
execute_process(
  COMMAND ${VESSEL} run --bios ${ELF} --max-instructions ${MAX_INSTRUCTIONS} ${extra_args}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  TIMEOUT 50)
message("${out}${err}")
message("exit status: ${rc}")
if(EXPECT_RC STREQUAL "nonzero")
  if(rc STREQUAL "0")
    message(FATAL_ERROR "expected a non-zero exit status, got 0")
  endif()
elseif(NOT rc STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "expected exit status ${EXPECT_RC}, got ${rc}")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "output does not match '${EXPECT_REGEX}'")
endif()
message("ok: exit status ${rc}, output matches '${EXPECT_REGEX}'")
