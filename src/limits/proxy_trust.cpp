#include <wsgate/limits/proxy_trust.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace wsgate {

namespace {

/// The 16-byte form of an IPv4 or IPv6 address; `v4` tells which it was.
std::optional<std::array<unsigned char, 16>> parse_address(std::string_view text, bool& v4) {
    if (text.empty() || text.size() > 45) return std::nullopt;
    const std::string s(text);
    std::array<unsigned char, 16> out{};
    unsigned char v4bytes[4];
    if (inet_pton(AF_INET, s.c_str(), v4bytes) == 1) {
        v4 = true;
        out[10] = out[11] = 0xff;
        std::memcpy(out.data() + 12, v4bytes, 4);
        return out;
    }
    if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
        v4 = false;
        return out;
    }
    return std::nullopt;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool in_range(const address_range& range, const std::array<unsigned char, 16>& a) {
    unsigned bits = range.prefix;
    for (std::size_t i = 0; i < 16 && bits > 0; ++i) {
        const unsigned take = bits >= 8 ? 8 : bits;
        const unsigned char mask = static_cast<unsigned char>(0xff00u >> take);
        if ((range.bytes[i] & mask) != (a[i] & mask)) return false;
        bits -= take;
    }
    return true;
}

}  // namespace

std::optional<address_range> parse_address_range(std::string_view text) {
    const auto slash = text.find('/');
    bool v4 = false;
    auto bytes = parse_address(text.substr(0, slash), v4);
    if (!bytes) return std::nullopt;
    address_range range;
    range.bytes = *bytes;
    if (slash == std::string_view::npos) return range;
    const auto digits = text.substr(slash + 1);
    unsigned prefix = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
        prefix > (v4 ? 32u : 128u))
        return std::nullopt;
    range.prefix = v4 ? prefix + 96 : prefix;
    return range;
}

bool proxy_trust::trusted(std::string_view address) const {
    bool v4 = false;
    auto bytes = parse_address(address, v4);
    if (!bytes) return false;
    for (const auto& range : proxies_)
        if (in_range(range, *bytes)) return true;
    return false;
}

std::string proxy_trust::client_address(const std::string& peer,
                                        const std::vector<std::string_view>& forwarded_for) const {
    if (!trusted(peer)) return peer;
    std::string_view client = peer;
    // Right to left, the last line first: each hop appended the address it saw.
    for (auto line = forwarded_for.rbegin(); line != forwarded_for.rend(); ++line) {
        for (std::string_view rest = *line;;) {
            const auto comma = rest.rfind(',');
            const auto entry =
                trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
            bool v4 = false;
            if (!parse_address(entry, v4)) return std::string(client);
            client = entry;
            if (!trusted(entry)) return std::string(client);
            if (comma == std::string_view::npos) break;
            rest = rest.substr(0, comma);
        }
    }
    return std::string(client);
}

}  // namespace wsgate
