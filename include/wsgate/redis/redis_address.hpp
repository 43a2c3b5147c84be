#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate {

/// Where a Redis server is and how to log in: `redis://[[user]:password@]host[:port][/db]`,
/// the host a name, an IPv4 address or an IPv6 address in brackets (`redis://[::1]:6379`).
struct redis_address {
    std::string host;  ///< an IPv6 address without its brackets
    std::uint16_t port = 6379;
    std::string username;  ///< empty: AUTH with the password alone
    std::string password;  ///< empty: no AUTH
    unsigned db = 0;
};

/// nullopt unless `url` is a well-formed redis:// URL (percent-escapes allowed in the password).
std::optional<redis_address> parse_redis_url(std::string_view url);

}  // namespace wsgate
