#include "jwt_mint.hpp"

#include <climits>
#include <memory>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdexcept>

#include "openssl_handles.hpp"

namespace wsgate::test {

namespace {

struct md_ctx_deleter {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct ecdsa_sig_deleter {
    void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using openssl::bio_ptr;
using openssl::bio_text;
using openssl::pkey_ptr;

[[noreturn]] void openssl_failed(const std::string& what) { openssl::fail("jwt_mint", what); }

key_pair to_pem(EVP_PKEY* key) {
    bio_ptr priv(BIO_new(BIO_s_mem()));
    bio_ptr pub(BIO_new(BIO_s_mem()));
    if (!priv || !pub ||
        PEM_write_bio_PrivateKey(priv.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
        PEM_write_bio_PUBKEY(pub.get(), key) != 1) {
        openssl_failed("writing PEM");
    }
    return {bio_text(priv.get()), bio_text(pub.get())};
}

pkey_ptr read_private_key(std::string_view pem) {
    if (pem.size() > static_cast<std::size_t>(INT_MAX)) throw std::runtime_error("PEM too large");
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    pkey_ptr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key) openssl_failed("reading a private key PEM");
    return key;
}

std::string digest_sign(EVP_PKEY* key, std::string_view input) {
    std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
    std::size_t size = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size()) != 1) {
        openssl_failed("signing");
    }
    std::string out(size, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &size, data,
                       input.size()) != 1) {
        openssl_failed("signing");
    }
    out.resize(size);
    return out;
}

}  // namespace

key_pair make_rsa_key(unsigned bits) {
    pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
    if (!key) openssl_failed("generating an RSA key");
    return to_pem(key.get());
}

key_pair make_ec_key(const std::string& curve) {
    pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve.c_str()));
    if (!key) openssl_failed("generating an EC key on " + curve);
    return to_pem(key.get());
}

std::string base64url(std::string_view bytes) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : bytes) {
        acc = ((acc << 8) | static_cast<unsigned char>(c)) & 0xffffffu;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0) out += alphabet[(acc << (6 - bits)) & 0x3f];
    return out;
}

std::string jws_signature(std::string_view alg, std::string_view key,
                          std::string_view signing_input) {
    if (alg == "none") return {};
    if (alg == "HS256") {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
                 mac, &length) == nullptr) {
            openssl_failed("HMAC");
        }
        return std::string(reinterpret_cast<const char*>(mac), length);
    }
    if (alg == "RS256") {
        auto pkey = read_private_key(key);
        if (!EVP_PKEY_is_a(pkey.get(), "RSA")) throw std::runtime_error("RS256 needs an RSA key");
        return digest_sign(pkey.get(), signing_input);
    }
    if (alg == "ES256") {
        auto pkey = read_private_key(key);
        if (!EVP_PKEY_is_a(pkey.get(), "EC")) throw std::runtime_error("ES256 needs an EC key");
        const std::string der = digest_sign(pkey.get(), signing_input);
        const auto* p = reinterpret_cast<const unsigned char*>(der.data());
        std::unique_ptr<ECDSA_SIG, ecdsa_sig_deleter> sig(
            d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
        if (!sig) openssl_failed("decoding an ECDSA signature");
        std::string raw(64, '\0');
        auto* out = reinterpret_cast<unsigned char*>(raw.data());
        if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, 32) != 32 ||
            BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + 32, 32) != 32) {
            openssl_failed("ES256 needs a P-256 key");
        }
        return raw;
    }
    throw std::runtime_error("jwt_mint: unknown algorithm " + std::string(alg));
}

std::string mint(std::string_view alg, std::string_view key, std::string_view header_json,
                 std::string_view payload_json) {
    std::string token = base64url(header_json);
    token += '.';
    token += base64url(payload_json);
    const std::string signature = jws_signature(alg, key, token);
    token += '.';
    token += base64url(signature);
    return token;
}

std::string mint(std::string_view alg, std::string_view key, const nlohmann::json& claims) {
    const nlohmann::json header = {{"alg", alg}, {"typ", "JWT"}};
    return mint(alg, key, header.dump(), claims.dump());
}

std::string mint_hs256(std::string_view secret, const nlohmann::json& claims) {
    return mint("HS256", secret, claims);
}

std::string mint_rs256(std::string_view private_pem, const nlohmann::json& claims) {
    return mint("RS256", private_pem, claims);
}

std::string mint_es256(std::string_view private_pem, const nlohmann::json& claims) {
    return mint("ES256", private_pem, claims);
}

std::string mint_none(const nlohmann::json& claims) { return mint("none", "", claims); }

}  // namespace wsgate::test
