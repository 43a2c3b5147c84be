#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace wsgate::test {

/// Minting JWTs for tests (OpenSSL). Everything throws std::runtime_error when OpenSSL fails or
/// a key does not fit the algorithm; nothing here checks what it signs.

/// PEM texts: private_pem is PKCS#8 ("BEGIN PRIVATE KEY"), public_pem is SubjectPublicKeyInfo
/// ("BEGIN PUBLIC KEY", what wsgate's jwt_settings::public_key_pem takes).
struct key_pair {
    std::string private_pem;
    std::string public_pem;
};

/// A fresh RSA key pair (2048 bits unless told; smaller ones are for refusal tests).
key_pair make_rsa_key(unsigned bits = 2048);
/// A fresh EC key pair on `curve` (OpenSSL group name: "P-256", "P-384", ...).
key_pair make_ec_key(const std::string& curve = "P-256");

/// Unpadded base64url (RFC 4648 §5), as in JWS.
std::string base64url(std::string_view bytes);

/// The raw JWS signature of `signing_input` ("<header>.<payload>") made the way `alg` says:
/// "HS256" (key = the secret), "RS256" or "ES256" (key = a private key PEM; ES256 gives
/// R || S, 64 bytes), "none" (empty).
std::string jws_signature(std::string_view alg, std::string_view key,
                          std::string_view signing_input);

/// A compact JWS of the given header and payload texts, taken verbatim (so tests can write any
/// JSON, or none), signed as `alg` says (see jws_signature) whatever the header claims.
std::string mint(std::string_view alg, std::string_view key, std::string_view header_json,
                 std::string_view payload_json);

/// A token with header {"alg":<alg>,"typ":"JWT"} and `claims` as payload.
std::string mint(std::string_view alg, std::string_view key, const nlohmann::json& claims);

std::string mint_hs256(std::string_view secret, const nlohmann::json& claims);
std::string mint_rs256(std::string_view private_pem, const nlohmann::json& claims);
std::string mint_es256(std::string_view private_pem, const nlohmann::json& claims);
/// {"alg":"none","typ":"JWT"}, the claims, and an empty signature: "<header>.<payload>."
std::string mint_none(const nlohmann::json& claims);

}  // namespace wsgate::test
