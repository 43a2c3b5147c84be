#include <wsgate/support/host_port.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace wsgate {

namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

}  // namespace

std::optional<host_port> parse_host_port(std::string_view text) {
    std::string_view host;
    std::string_view rest;  // "" or ":<port>"
    if (!text.empty() && text.front() == '[') {
        // Brackets hold an IPv6 address and nothing else (RFC 3986 3.2.2).
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        rest = text.substr(close + 1);
        unsigned char bytes[16];
        if (host.empty() || host.size() > 45 ||
            inet_pton(AF_INET6, std::string(host).c_str(), bytes) != 1)
            return std::nullopt;
    } else {
        const auto colon = text.find(':');
        host = text.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
        if (host.empty() || !std::all_of(host.begin(), host.end(), is_name_char))
            return std::nullopt;
    }
    host_port out{std::string(host), std::nullopt};
    if (rest.empty()) return out;
    if (rest.front() != ':') return std::nullopt;
    const auto digits = rest.substr(1);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port == 0 ||
        port > 65535)
        return std::nullopt;
    out.port = static_cast<std::uint16_t>(port);
    return out;
}

std::string format_host_port(std::string_view host, std::uint16_t port,
                             std::uint16_t default_port) {
    std::string out = host.find(':') != std::string_view::npos
                          ? "[" + std::string(host) + "]"
                          : std::string(host);
    if (port != default_port || default_port == 0) out += ":" + std::to_string(port);
    return out;
}

}  // namespace wsgate
