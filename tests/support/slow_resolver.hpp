#pragma once

#include <cstdlib>
#include <string>
#include <vector>

namespace wsgate::test {

/// The environment entries that load the slow resolver (tests/support/preload/slow_resolver.cpp)
/// into a child: there `d<ms>.slow.test` takes <ms> milliseconds to resolve to 127.0.0.1
/// (`d<ms>-v6.slow.test`: to ::1). With AddressSanitizer the runtime must come first in the
/// library list, which a preloaded library breaks; its check is turned off.
inline std::vector<std::string> slow_resolver_env() {
    const char* asan = std::getenv("ASAN_OPTIONS");
    std::string asan_options = asan != nullptr && *asan != '\0' ? std::string(asan) + ":" : "";
    return {"LD_PRELOAD=" WSGATE_SLOW_RESOLVER,
            "ASAN_OPTIONS=" + asan_options + "verify_asan_link_order=0"};
}

/// A host name the slow resolver answers (127.0.0.1) after `ms` milliseconds.
inline std::string slow_host(long ms) { return "d" + std::to_string(ms) + ".slow.test"; }

}  // namespace wsgate::test
