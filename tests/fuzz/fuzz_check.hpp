#pragma once

// What the fuzz targets share: an assertion that stays on in every build type.

#include <cstdio>
#include <cstdlib>

/// Aborts (which libFuzzer reports as a crash) when `cond` is false.
#define FUZZ_CHECK(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, \
                         #cond);                                                      \
            std::abort();                                                             \
        }                                                                             \
    } while (0)
