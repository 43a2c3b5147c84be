#pragma once

#include <string>

namespace wsgate::test {

/// Certificates for TLS tests, made with OpenSSL at test time. Everything throws
/// std::runtime_error when OpenSSL fails.

/// A certificate and its private key, as PEM texts (the key unencrypted, PKCS#8).
struct test_certificate {
    std::string cert_pem;
    std::string key_pem;
};

/// A self-signed certificate with subject CN=`common_name`, for DNS:localhost and
/// IP:127.0.0.1, valid from an hour ago for a day. `key_type` is "EC" (P-256) or "RSA"
/// (`rsa_bits` bits).
test_certificate make_self_signed(const std::string& common_name,
                                  const std::string& key_type = "EC", unsigned rsa_bits = 2048);

/// `key_pem` encrypted with AES-256-CBC under `passphrase` ("BEGIN ENCRYPTED PRIVATE KEY").
std::string encrypt_key_pem(const std::string& key_pem, const std::string& passphrase);

}  // namespace wsgate::test
