#include <wsgate/redis/redis_address.hpp>

#include <wsgate/support/host_port.hpp>

#include <charconv>

namespace wsgate {

namespace {

template <class T>
std::optional<T> parse_number(std::string_view s, T max) {
    T value{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || value > max)
        return std::nullopt;
    return value;
}

std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        unsigned byte = 0;
        const char* first = s.data() + i + 1;
        if (i + 2 >= s.size() ||
            std::from_chars(first, first + 2, byte, 16).ptr != first + 2)
            return std::nullopt;
        out += static_cast<char>(byte);
        i += 2;
    }
    return out;
}

}  // namespace

std::optional<redis_address> parse_redis_url(std::string_view url) {
    constexpr std::string_view scheme = "redis://";
    if (url.substr(0, scheme.size()) != scheme) return std::nullopt;
    url.remove_prefix(scheme.size());

    redis_address a;
    if (const auto slash = url.find('/'); slash != std::string_view::npos) {
        const auto db = parse_number<unsigned>(url.substr(slash + 1), 15);
        if (!db) return std::nullopt;
        a.db = *db;
        url = url.substr(0, slash);
    }
    if (const auto at = url.rfind('@'); at != std::string_view::npos) {
        auto userinfo = url.substr(0, at);
        url.remove_prefix(at + 1);
        // ":password" (AUTH password) or "user:password" (Redis 6 ACL: AUTH user password).
        const auto colon = userinfo.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        auto user = percent_decode(userinfo.substr(0, colon));
        auto password = percent_decode(userinfo.substr(colon + 1));
        if (!user || !password || password->empty()) return std::nullopt;
        a.username = std::move(*user);
        a.password = std::move(*password);
    }
    auto authority = parse_host_port(url);  // host[:port], an IPv6 address in brackets
    if (!authority) return std::nullopt;
    a.host = std::move(authority->host);
    if (authority->port) a.port = *authority->port;
    return a;
}

}  // namespace wsgate
