#include "signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>

namespace chatbot {
namespace {

using digest = std::array<unsigned char, 32>;

digest hmac_sha256(std::string_view key, std::string_view message) {
    digest out{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(),
         &length);
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// The 32 bytes of a 64-digit hex string, or nullopt.
std::optional<digest> decode_hex_digest(std::string_view hex) {
    digest out{};
    if (hex.size() != out.size() * 2) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int high = hex_value(hex[2 * i]);
        const int low = hex_value(hex[2 * i + 1]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        out[i] = static_cast<unsigned char>(high * 16 + low);
    }
    return out;
}

bool timestamp_fresh(std::string_view timestamp, std::chrono::system_clock::time_point now) {
    std::int64_t seconds = 0;
    const char* last = timestamp.data() + timestamp.size();
    const auto [end, ec] = std::from_chars(timestamp.data(), last, seconds);
    if (timestamp.empty() || ec != std::errc() || end != last) {
        return false;
    }
    const auto sent = std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
    const auto skew = now > sent ? now - sent : sent - now;
    return skew <= max_clock_skew;
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (const unsigned char byte : hmac_sha256(key, message)) {
        hex += digits[byte >> 4];
        hex += digits[byte & 0x0f];
    }
    return hex;
}

/// True when `signature_header` is `sha256=<hex>` of HMAC-SHA256(secret, signed_text), compared
/// in constant time, and `timestamp` is fresh.
static bool signed_text_valid(std::string_view secret, std::string_view timestamp,
                       std::string_view signed_text, std::string_view signature_header,
                       std::chrono::system_clock::time_point now) {
    constexpr std::string_view prefix = "sha256=";
    if (signature_header.substr(0, prefix.size()) != prefix) {
        return false;
    }
    const auto received = decode_hex_digest(signature_header.substr(prefix.size()));
    if (!received) {
        return false;
    }
    const digest expected = hmac_sha256(secret, signed_text);
    const bool match = CRYPTO_memcmp(expected.data(), received->data(), expected.size()) == 0;
    return match && timestamp_fresh(timestamp, now);
}

bool signature_valid(std::string_view secret, std::string_view timestamp, std::string_view body,
                     std::string_view signature_header, std::chrono::system_clock::time_point now) {
    std::string signed_text;
    signed_text.reserve(timestamp.size() + 1 + body.size());
    signed_text.append(timestamp).append(".").append(body);
    return signed_text_valid(secret, timestamp, signed_text, signature_header, now);
}

bool handshake_signature_valid(std::string_view secret, std::string_view timestamp,
                               std::string_view connection, std::string_view user,
                               std::string_view signature_header,
                               std::chrono::system_clock::time_point now) {
    std::string signed_text;
    signed_text.append(timestamp).append(".").append(connection).append(".").append(user);
    return signed_text_valid(secret, timestamp, signed_text, signature_header, now);
}

}  // namespace chatbot
