// A getaddrinfo() that takes as long as a test says, loaded into wsgate with LD_PRELOAD
// (tests/support/slow_resolver.hpp). Names of the form `d<ms>.slow.test` take <ms>
// milliseconds, then resolve to 127.0.0.1 (`d<ms>-v6.slow.test`: ::1); every other name goes to
// the C library's getaddrinfo. This is how the tests make name resolution slow, or hang, on
// loopback without a DNS server: they prove whether a lookup blocks the event loop and
// whether it is bounded by a timeout.

#include <dlfcn.h>
#include <netdb.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

namespace {

using getaddrinfo_fn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);

constexpr std::string_view suffix = ".slow.test";

}  // namespace

extern "C" int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                           addrinfo** res) {
    static const auto real = reinterpret_cast<getaddrinfo_fn>(dlsym(RTLD_NEXT, "getaddrinfo"));
    if (real == nullptr) return EAI_SYSTEM;
    const std::string_view name = node != nullptr ? node : "";
    if (name.size() <= suffix.size() + 1 || name.front() != 'd' ||
        name.substr(name.size() - suffix.size()) != suffix)
        return real(node, service, hints, res);
    const std::string_view label = name.substr(1, name.size() - suffix.size() - 1);
    char* end = nullptr;
    const std::string digits(label);
    const long ms = std::strtol(digits.c_str(), &end, 10);
    if (end == digits.c_str() || ms < 0) return EAI_NONAME;
    const bool v6 = std::string_view(end) == "-v6";
    if (!v6 && *end != '\0') return EAI_NONAME;
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return real(v6 ? "::1" : "127.0.0.1", service, hints, res);
}
