#pragma once

#include <string>
#include <string_view>

namespace wsgate {

/// The current Unix time in seconds, as signed requests carry it.
std::string unix_timestamp();

/// Lower-case hex HMAC-SHA256 of `data` under `key` (OpenSSL).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// The X-Wsgate-Signature value for a request: "sha256=" + HMAC over "<timestamp>.<body>".
std::string request_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body);

/// The X-Wsgate-Signature value of an upstream WebSocket handshake (the `websocket` transport):
/// "sha256=" + HMAC over "<timestamp>.<connection>.<user>" (user empty for anonymous clients).
std::string upstream_handshake_signature(std::string_view secret, std::string_view timestamp,
                                         std::string_view connection, std::string_view user);

}  // namespace wsgate
