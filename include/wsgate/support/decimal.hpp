#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wsgate {

/// Plain decimal digits (no sign, no spaces, no fraction) that fit in 64 bits: a query
/// parameter, a configuration value as text, a JSON number that must be a count or an offset.
inline std::optional<std::uint64_t> parse_decimal(std::string_view text) {
    std::uint64_t n = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, n);
    if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
    return n;
}

}  // namespace wsgate
