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

#include <wsgate/json/json_reader.hpp>

#include <string_view>

/// Whether `text` is one JSON value. nlohmann::json::accept() is not the judge: it refuses
/// numbers beyond a double (valid JSON, which the gateway passes through unchanged).
inline bool fuzz_valid_json(std::string_view text) {
    return !wsgate::json_input::check(text, 100000).has_value();
}
