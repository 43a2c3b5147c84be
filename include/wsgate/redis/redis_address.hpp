#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate {

/// Where a Redis server is and how to log in: `redis://[[user]:password@]host[:port][/db]`.
struct redis_address {
    std::string host;
    std::uint16_t port = 6379;
    std::string username;  ///< empty: AUTH with the password alone
    std::string password;  ///< empty: no AUTH
    unsigned db = 0;
};

/// nullopt unless `url` is a well-formed redis:// URL (percent-escapes allowed in the password).
std::optional<redis_address> parse_redis_url(std::string_view url);

}  // namespace wsgate
