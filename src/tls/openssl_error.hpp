#pragma once

// Internal to src/tls: OpenSSL's thread-local error queue as one line of text.

#include <cstring>
#include <openssl/err.h>
#include <string>
#include <vector>

namespace wsgate::detail {

/// Takes every error off the queue and returns their reasons in order (the root cause first,
/// say "No such file or directory", then the summaries), dropping the generic "... lib" ones
/// and repeats. Leaves the queue empty, as the next SSL call needs it.
inline std::string openssl_reason() {
    std::vector<std::string> reasons;
    std::string fallback;
    unsigned long e = 0;
    const char* data = nullptr;
    int flags = 0;
    while ((e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
        const char* r =
            ERR_SYSTEM_ERROR(e) ? std::strerror(ERR_GET_REASON(e)) : ERR_reason_error_string(e);
        std::string reason = r != nullptr ? r : "error " + std::to_string(ERR_GET_REASON(e));
        fallback = reason;
        if (reason.size() >= 4 && reason.compare(reason.size() - 4, 4, " lib") == 0) continue;
        if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0' &&
            !ERR_SYSTEM_ERROR(e))
            reason += std::string(" (") + data + ")";
        bool seen = false;
        for (const auto& s : reasons) seen = seen || s == reason;
        if (!seen) reasons.push_back(std::move(reason));
    }
    if (reasons.empty()) return fallback.empty() ? "unknown OpenSSL error" : fallback;
    std::string out;
    for (const auto& s : reasons) {
        if (!out.empty()) out += ": ";
        out += s;
    }
    return out;
}

}  // namespace wsgate::detail
