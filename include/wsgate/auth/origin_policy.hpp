#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wsgate::auth {

/// Which browser origins may open WebSockets (`server.allowed_origins`), against Cross-Site
/// WebSocket Hijacking. I/O-free.
///
/// An entry is an origin, `scheme://host[:port]`, matched without regard to case; `*.` before
/// the host matches any subdomain (one or more labels, not the bare domain); the entry `*`
/// matches every origin. No entries: every origin is allowed. A request without an Origin
/// header is not from a browser page and is allowed (browsers always send it on WebSocket
/// handshakes).
class origin_policy {
public:
    origin_policy() = default;
    explicit origin_policy(std::vector<std::string> allowed);

    bool allows(std::string_view origin) const;
    bool restricts() const noexcept { return !allowed_.empty(); }

private:
    std::vector<std::string> allowed_;  ///< lower case
};

/// True when `entry` is a valid allow-list entry: `*`, or scheme://[*.]host[:port] without a
/// path.
bool valid_origin_entry(std::string_view entry);

}  // namespace wsgate::auth
