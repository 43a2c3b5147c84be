#include <wsgate/upstream/signature.hpp>

#include <chrono>

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace wsgate {

std::string unix_timestamp() {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0x0f];
    }
    return out;
}

std::string request_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body) {
    std::string signed_text;
    signed_text.reserve(timestamp.size() + 1 + body.size());
    signed_text.append(timestamp).append(".").append(body);
    return "sha256=" + hmac_sha256_hex(secret, signed_text);
}

std::string upstream_handshake_signature(std::string_view secret, std::string_view timestamp,
                                         std::string_view connection, std::string_view user) {
    std::string signed_text;
    signed_text.reserve(timestamp.size() + connection.size() + user.size() + 2);
    signed_text.append(timestamp).append(".").append(connection).append(".").append(user);
    return "sha256=" + hmac_sha256_hex(secret, signed_text);
}

}  // namespace wsgate
