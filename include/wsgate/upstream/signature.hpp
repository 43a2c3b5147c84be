#pragma once

#include <string>
#include <string_view>

namespace wsgate {

/// Lower-case hex HMAC-SHA256 of `data` under `key` (OpenSSL).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// The X-Wsgate-Signature value for a request: "sha256=" + HMAC over "<timestamp>.<body>".
std::string request_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body);

}  // namespace wsgate
