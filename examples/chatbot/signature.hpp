#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace chatbot {

/// How far a request's X-Wsgate-Timestamp may be from our clock.
constexpr std::chrono::seconds max_clock_skew{300};

/// Lower-case hex HMAC-SHA256 of `message` under `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// True when `signature_header` is `sha256=<hex>` of HMAC-SHA256(secret, timestamp "." body),
/// compared in constant time, and `timestamp` (Unix seconds) is within max_clock_skew of `now`.
bool signature_valid(std::string_view secret, std::string_view timestamp, std::string_view body,
                     std::string_view signature_header, std::chrono::system_clock::time_point now);

/// The same check for the handshake of an upstream WebSocket (`/ws-chat`), whose signature
/// covers "<timestamp>.<connection>.<user>" (user empty for an anonymous client).
bool handshake_signature_valid(std::string_view secret, std::string_view timestamp,
                               std::string_view connection, std::string_view user,
                               std::string_view signature_header,
                               std::chrono::system_clock::time_point now);

}  // namespace chatbot
