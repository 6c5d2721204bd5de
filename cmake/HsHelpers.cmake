# Project-wide compiler settings, carried by the INTERFACE target hs_warnings
# that every target links.

add_library(hs_warnings INTERFACE)
target_compile_options(hs_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef -Wvla
    -Wpointer-arith -Wnull-dereference -Wimplicit-fallthrough)
target_compile_definitions(hs_warnings INTERFACE _GNU_SOURCE)
if(HS_WERROR)
    target_compile_options(hs_warnings INTERFACE -Werror)
endif()

# Sanitizers apply to everything built, third-party code excepted.
set(HS_SANITIZE "" CACHE STRING "Sanitizers: address;undefined, thread, or empty")
if(HS_SANITIZE)
    string(REPLACE ";" "," _san "${HS_SANITIZE}")
    add_compile_options(-fsanitize=${_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${_san})
endif()

# Fuzz builds instrument all of the project's code for coverage, not only the
# fuzz targets, so that libFuzzer can steer into the library.
if(HS_FUZZ)
    add_compile_options(-fsanitize=fuzzer-no-link)
endif()

option(HS_COVERAGE "Build with coverage instrumentation (gcov)" OFF)
if(HS_COVERAGE)
    add_compile_options(--coverage -O0 -g)
    add_link_options(--coverage)
endif()

# hs_add_unit_suites(binary suite...) registers one ctest entry per CUnit suite
# of a test binary, so that ctest reports each suite separately.
function(hs_add_unit_suites binary)
    foreach(suite ${ARGN})
        add_test(NAME unit.${suite} COMMAND ${binary} ${suite})
        set_tests_properties(unit.${suite} PROPERTIES LABELS unit TIMEOUT 120)
    endforeach()
endfunction()
