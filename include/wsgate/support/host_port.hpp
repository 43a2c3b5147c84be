#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate {

/// The host and port of a URL's authority (RFC 3986 3.2.2), as in `redis://`, `http://` and
/// `ws://` URLs of the configuration.
struct host_port {
    std::string host;  ///< a name, an IPv4 address, or an IPv6 address (without brackets)
    std::optional<std::uint16_t> port;  ///< absent: the scheme's default
};

/// `host[:port]`: a name of letters, digits, '.', '-' and '_', an IPv4 address, or an IPv6
/// address in brackets (`[::1]:6379`); a port of 1-65535. nullopt for anything else.
std::optional<host_port> parse_host_port(std::string_view text);

/// `host:port` for a Host header or a log line: an IPv6 address in brackets, and no port when
/// it is `default_port` (0: always a port).
std::string format_host_port(std::string_view host, std::uint16_t port,
                             std::uint16_t default_port = 0);

}  // namespace wsgate
