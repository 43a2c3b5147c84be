#include <wsgate/auth/jwt.hpp>

#include <nlohmann/json.hpp>

#include <wsgate/json/json_reader.hpp>

#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdexcept>
#include <utility>

namespace wsgate::auth {

namespace {

using nlohmann::json;

constexpr std::size_t max_subject_bytes = 256;
constexpr std::size_t min_hs256_secret_bytes = 32;  // RFC 7518 §3.2: at least the hash size
constexpr int min_rsa_bits = 2048;
constexpr std::size_t es256_signature_bytes = 64;  // R || S, 32 bytes each (RFC 7518 §3.4)

enum class algorithm { hs256, rs256, es256 };

struct pkey_deleter {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct bio_deleter {
    void operator()(BIO* p) const { BIO_free(p); }
};
struct md_ctx_deleter {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct ecdsa_sig_deleter {
    void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct bignum_deleter {
    void operator()(BIGNUM* p) const { BN_free(p); }
};
struct openssl_free_deleter {
    void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

/// Strict base64url (RFC 4648 §5) without padding, as JWS requires (RFC 7515 §2): any
/// character outside [A-Za-z0-9_-] ('=' included), a length of 4n+1, or non-zero unused bits
/// in the last character make the input invalid, so every byte string has one encoding only.
bool base64url_decode(std::string_view in, std::string& out) {
    if (in.size() % 4 == 1) return false;
    out.clear();
    out.reserve(in.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        std::uint32_t v = 0;
        if (c >= 'A' && c <= 'Z') {
            v = static_cast<std::uint32_t>(c - 'A');
        } else if (c >= 'a' && c <= 'z') {
            v = static_cast<std::uint32_t>(c - 'a') + 26;
        } else if (c >= '0' && c <= '9') {
            v = static_cast<std::uint32_t>(c - '0') + 52;
        } else if (c == '-') {
            v = 62;
        } else if (c == '_') {
            v = 63;
        } else {
            return false;
        }
        acc = ((acc << 6) | v) & 0xffffffu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xffu));
        }
    }
    return bits == 0 || (acc & ((1u << bits) - 1)) == 0;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::int64_t saturating_add(std::int64_t a, std::int64_t non_negative) {
    constexpr auto max = std::numeric_limits<std::int64_t>::max();
    return a > max - non_negative ? max : a + non_negative;
}

/// A NumericDate claim as whole seconds: integers as they are (clamped to int64), fractions
/// rounded up (so "now >= t" and "now < t" compare integer `now` with the exact instant).
/// nullopt for anything but a finite JSON number.
std::optional<std::int64_t> numeric_date(const json& v) {
    constexpr auto max = std::numeric_limits<std::int64_t>::max();
    constexpr auto min = std::numeric_limits<std::int64_t>::min();
    if (v.is_number_unsigned()) {
        auto u = v.get<std::uint64_t>();
        return u > static_cast<std::uint64_t>(max) ? max : static_cast<std::int64_t>(u);
    }
    if (v.is_number_integer()) return v.get<std::int64_t>();
    if (v.is_number_float()) {
        double d = v.get<double>();
        if (!std::isfinite(d)) return std::nullopt;
        d = std::ceil(d);
        if (d >= 9223372036854775808.0) return max;  // 2^63: exactly representable
        if (d < -9223372036854775808.0) return min;
        return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
}

jwt_error fail(jwt_error_code code, std::string message) {
    ERR_clear_error();  // leave nothing in this thread's OpenSSL error queue for others to find
    return jwt_error{code, std::move(message)};
}

int refuse_password(char*, int, int, void*) { return 0; }

pkey_ptr read_public_key(const std::string& pem, const std::string& alg) {
    if (pem.empty()) {
        throw std::invalid_argument("jwt: " + alg + " needs public_key_pem");
    }
    if (pem.size() > static_cast<std::size_t>(INT_MAX)) {
        throw std::invalid_argument("jwt: public_key_pem is too large");
    }
    std::unique_ptr<BIO, bio_deleter> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    pkey_ptr key;
    if (bio) key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, refuse_password, nullptr));
    ERR_clear_error();
    if (!key) {
        throw std::invalid_argument(
            "jwt: public_key_pem is not a PEM public key (expected -----BEGIN PUBLIC KEY-----, "
            "SubjectPublicKeyInfo)");
    }
    return key;
}

void check_rsa_key(EVP_PKEY* key) {
    if (!EVP_PKEY_is_a(key, "RSA")) {
        throw std::invalid_argument("jwt: RS256 needs an RSA public key, public_key_pem holds " +
                                    std::string(EVP_PKEY_get0_type_name(key) != nullptr
                                                    ? EVP_PKEY_get0_type_name(key)
                                                    : "another kind of key"));
    }
    int bits = EVP_PKEY_get_bits(key);
    if (bits < min_rsa_bits) {
        throw std::invalid_argument("jwt: the RS256 key has " + std::to_string(bits) +
                                    " bits, at least " + std::to_string(min_rsa_bits) +
                                    " are required");
    }
}

void check_p256_key(EVP_PKEY* key) {
    if (!EVP_PKEY_is_a(key, "EC")) {
        throw std::invalid_argument(
            "jwt: ES256 needs an EC P-256 public key, public_key_pem holds " +
            std::string(EVP_PKEY_get0_type_name(key) != nullptr ? EVP_PKEY_get0_type_name(key)
                                                                : "another kind of key"));
    }
    char group[80] = {};
    std::size_t length = 0;
    bool named = EVP_PKEY_get_group_name(key, group, sizeof group, &length) == 1;
    ERR_clear_error();
    if (!named || std::strcmp(group, SN_X9_62_prime256v1) != 0) {
        throw std::invalid_argument(
            "jwt: the ES256 key must be on curve P-256 (prime256v1), it is on " +
            std::string(named ? group : "an unnamed curve"));
    }
}

bool digest_verify(EVP_PKEY* key, bool rsa_pkcs1, std::string_view signing_input,
                   const unsigned char* signature, std::size_t signature_size) {
    std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
    if (!ctx) return false;
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    if (EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) != 1) return false;
    if (rsa_pkcs1 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
    return EVP_DigestVerify(ctx.get(), signature, signature_size,
                            reinterpret_cast<const unsigned char*>(signing_input.data()),
                            signing_input.size()) == 1;
}

}  // namespace

const char* to_string(jwt_error_code code) {
    switch (code) {
        case jwt_error_code::malformed:
            return "malformed";
        case jwt_error_code::unsupported_algorithm:
            return "unsupported_algorithm";
        case jwt_error_code::bad_signature:
            return "bad_signature";
        case jwt_error_code::expired:
            return "expired";
        case jwt_error_code::not_yet_valid:
            return "not_yet_valid";
        case jwt_error_code::wrong_issuer:
            return "wrong_issuer";
        case jwt_error_code::wrong_audience:
            return "wrong_audience";
        case jwt_error_code::missing_subject:
            return "missing_subject";
        case jwt_error_code::invalid_claims:
            return "invalid_claims";
    }
    return "unknown";
}

struct jwt_verifier::impl {
    jwt_settings settings;
    algorithm alg = algorithm::hs256;
    std::int64_t leeway = 0;
    pkey_ptr key;  // RS256 / ES256

    std::variant<jwt_identity, jwt_error> verify(std::string_view token, std::int64_t now) const;
    bool signature_ok(std::string_view signing_input, const std::string& signature) const;
};

jwt_verifier::jwt_verifier(jwt_settings settings) {
    auto p = std::make_shared<impl>();
    const std::string& alg = settings.algorithm;
    if (alg == "HS256") {
        p->alg = algorithm::hs256;
    } else if (alg == "RS256") {
        p->alg = algorithm::rs256;
    } else if (alg == "ES256") {
        p->alg = algorithm::es256;
    } else {
        throw std::invalid_argument("jwt: algorithm must be HS256, RS256 or ES256");
    }
    if (settings.leeway.count() < 0) {
        throw std::invalid_argument("jwt: leeway must not be negative");
    }
    if (settings.max_token_bytes == 0) {
        throw std::invalid_argument("jwt: max_token_bytes must be positive");
    }
    if (settings.channels_claim.empty()) {
        throw std::invalid_argument("jwt: channels_claim must not be empty");
    }
    constexpr auto max = std::numeric_limits<std::int64_t>::max();
    p->leeway =
        static_cast<std::uint64_t>(settings.leeway.count()) > static_cast<std::uint64_t>(max)
            ? max
            : static_cast<std::int64_t>(settings.leeway.count());

    if (p->alg == algorithm::hs256) {
        if (!settings.public_key_pem.empty()) {
            throw std::invalid_argument("jwt: HS256 takes a secret, not public_key_pem");
        }
        if (settings.secret.size() < min_hs256_secret_bytes) {
            throw std::invalid_argument("jwt: the HS256 secret must be at least 32 bytes");
        }
        if (settings.secret.size() > static_cast<std::size_t>(INT_MAX)) {
            throw std::invalid_argument("jwt: the HS256 secret is too large");
        }
    } else {
        if (!settings.secret.empty()) {
            throw std::invalid_argument("jwt: " + alg + " takes public_key_pem, not a secret");
        }
        p->key = read_public_key(settings.public_key_pem, alg);
        if (p->alg == algorithm::rs256) {
            check_rsa_key(p->key.get());
        } else {
            check_p256_key(p->key.get());
        }
    }
    p->settings = std::move(settings);
    impl_ = std::move(p);
}

const jwt_settings& jwt_verifier::settings() const { return impl_->settings; }

std::variant<jwt_identity, jwt_error> jwt_verifier::verify(std::string_view token,
                                                           std::int64_t now_unix_seconds) const {
    try {
        return impl_->verify(token, now_unix_seconds);
    } catch (const std::exception&) {  // allocation failure: nothing else in verify() throws
        return fail(jwt_error_code::malformed, "token could not be checked (internal error)");
    } catch (...) {
        return fail(jwt_error_code::malformed, "token could not be checked (internal error)");
    }
}

bool jwt_verifier::impl::signature_ok(std::string_view signing_input,
                                      const std::string& signature) const {
    const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
    switch (alg) {
        case algorithm::hs256: {
            unsigned char mac[EVP_MAX_MD_SIZE];
            unsigned int length = 0;
            if (HMAC(EVP_sha256(), settings.secret.data(), static_cast<int>(settings.secret.size()),
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size(), mac, &length) == nullptr) {
                return false;
            }
            return signature.size() == length && CRYPTO_memcmp(mac, sig, length) == 0;
        }
        case algorithm::rs256: {
            int size = EVP_PKEY_get_size(key.get());
            if (size <= 0 || signature.size() != static_cast<std::size_t>(size)) return false;
            return digest_verify(key.get(), true, signing_input, sig, signature.size());
        }
        case algorithm::es256: {
            // JWS carries R || S (RFC 7518 §3.4); EVP wants a DER ECDSA-Sig-Value.
            if (signature.size() != es256_signature_bytes) return false;
            std::unique_ptr<BIGNUM, bignum_deleter> r(BN_bin2bn(sig, 32, nullptr));
            std::unique_ptr<BIGNUM, bignum_deleter> s(BN_bin2bn(sig + 32, 32, nullptr));
            std::unique_ptr<ECDSA_SIG, ecdsa_sig_deleter> ecdsa(ECDSA_SIG_new());
            if (!r || !s || !ecdsa) return false;
            if (ECDSA_SIG_set0(ecdsa.get(), r.get(), s.get()) != 1) return false;
            r.release();  // owned by ecdsa now
            s.release();
            unsigned char* der_raw = nullptr;
            int der_size = i2d_ECDSA_SIG(ecdsa.get(), &der_raw);
            std::unique_ptr<unsigned char, openssl_free_deleter> der(der_raw);
            if (der_size <= 0 || !der) return false;
            return digest_verify(key.get(), false, signing_input, der.get(),
                                 static_cast<std::size_t>(der_size));
        }
    }
    return false;
}

std::variant<jwt_identity, jwt_error> jwt_verifier::impl::verify(std::string_view token,
                                                                 std::int64_t now) const {
    using code = jwt_error_code;
    if (token.size() > settings.max_token_bytes) {
        return fail(code::malformed,
                    "token longer than " + std::to_string(settings.max_token_bytes) + " bytes");
    }
    // Compact serialization: exactly three base64url parts separated by dots.
    const auto dot1 = token.find('.');
    const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
        return fail(code::malformed, "token is not three dot-separated parts");
    }
    const auto header_b64 = token.substr(0, dot1);
    const auto payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const auto signature_b64 = token.substr(dot2 + 1);
    std::string header_text, payload_text, signature;
    if (!base64url_decode(header_b64, header_text) ||
        !base64url_decode(payload_b64, payload_text) ||
        !base64url_decode(signature_b64, signature)) {
        return fail(code::malformed, "token part is not unpadded base64url");
    }

    // Checked without recursion before nlohmann builds a document of it (the header is read
    // before the signature is checked: anyone can send one).
    for (const std::string* part : {&header_text, &payload_text}) {
        if (auto bad = json_input::check(*part, settings.max_json_depth + 1))
            return fail(code::malformed, std::string(part == &header_text ? "token header"
                                                                          : "token payload") +
                                             (bad->what == json_input::fault::too_deep
                                                  ? " nests deeper than limits.json_max_depth"
                                                  : " is not valid JSON"));
    }
    const json header = json::parse(header_text, nullptr, false);
    if (!header.is_object()) return fail(code::malformed, "token header is not a JSON object");
    const auto alg_it = header.find("alg");
    if (alg_it == header.end() || !alg_it->is_string()) {
        return fail(code::malformed, "token header has no alg");
    }
    if (alg_it->get_ref<const std::string&>() != settings.algorithm) {
        return fail(code::unsupported_algorithm, "token alg is not " + settings.algorithm);
    }
    if (const auto typ = header.find("typ"); typ != header.end()) {
        if (!typ->is_string()) return fail(code::malformed, "token typ is not a string");
        const auto& t = typ->get_ref<const std::string&>();
        if (!iequals(t, "JWT") && !iequals(t, "application/jwt") && !iequals(t, "at+jwt") &&
            !iequals(t, "application/at+jwt")) {
            return fail(code::malformed, "token typ is not JWT or at+jwt");
        }
    }
    if (header.contains("crit")) {
        return fail(code::malformed, "token header has crit extensions, none are supported");
    }

    if (!signature_ok(token.substr(0, dot2), signature)) {
        return fail(code::bad_signature, "token signature does not verify");
    }

    // Only authenticated bytes from here on.
    const json claims = json::parse(payload_text, nullptr, false);
    if (!claims.is_object()) return fail(code::malformed, "token payload is not a JSON object");

    std::optional<std::int64_t> exp, nbf;
    if (const auto it = claims.find("exp"); it != claims.end()) {
        exp = numeric_date(*it);
        if (!exp) return fail(code::invalid_claims, "exp is not a number");
    }
    if (const auto it = claims.find("nbf"); it != claims.end()) {
        nbf = numeric_date(*it);
        if (!nbf) return fail(code::invalid_claims, "nbf is not a number");
    }
    if (const auto it = claims.find("iat"); it != claims.end() && !numeric_date(*it)) {
        return fail(code::invalid_claims, "iat is not a number");
    }
    const auto iss = claims.find("iss");
    if (iss != claims.end() && !iss->is_string()) {
        return fail(code::invalid_claims, "iss is not a string");
    }
    const auto aud = claims.find("aud");
    if (aud != claims.end()) {
        bool ok = aud->is_string();
        if (aud->is_array()) {
            ok = true;
            for (const auto& a : *aud) ok = ok && a.is_string();
        }
        if (!ok) return fail(code::invalid_claims, "aud is not a string or an array of strings");
    }

    jwt_identity identity;
    const auto sub = claims.find("sub");
    if (sub == claims.end() || sub->is_null() ||
        (sub->is_string() && sub->get_ref<const std::string&>().empty())) {
        return fail(code::missing_subject, "token has no sub");
    }
    if (!sub->is_string()) return fail(code::invalid_claims, "sub is not a string");
    identity.subject = sub->get<std::string>();
    if (identity.subject.size() > max_subject_bytes) {
        return fail(code::invalid_claims,
                    "sub is longer than " + std::to_string(max_subject_bytes) + " bytes");
    }

    if (const auto it = claims.find(settings.channels_claim); it != claims.end()) {
        if (!it->is_array()) {
            return fail(code::invalid_claims, settings.channels_claim + " is not an array");
        }
        identity.channels.reserve(it->size());
        for (const auto& c : *it) {
            if (!c.is_string()) {
                return fail(code::invalid_claims,
                            settings.channels_claim + " is not an array of strings");
            }
            identity.channels.push_back(c.get<std::string>());
        }
    }

    // RFC 7519 §4.1.4: valid only before exp; §4.1.5: valid from nbf on. Leeway widens both.
    if (exp && now >= saturating_add(*exp, leeway)) {
        return fail(code::expired, "token expired");
    }
    if (nbf && saturating_add(now, leeway) < *nbf) {
        return fail(code::not_yet_valid, "token not valid yet (nbf)");
    }
    if (!settings.issuer.empty() &&
        (iss == claims.end() || iss->get_ref<const std::string&>() != settings.issuer)) {
        return fail(code::wrong_issuer, "token iss is not " + settings.issuer);
    }
    if (!settings.audience.empty()) {
        bool found = false;
        if (aud != claims.end()) {
            if (aud->is_string()) {
                found = aud->get_ref<const std::string&>() == settings.audience;
            } else {
                for (const auto& a : *aud) {
                    found = found || a.get_ref<const std::string&>() == settings.audience;
                }
            }
        }
        if (!found)
            return fail(code::wrong_audience, "token aud does not include " + settings.audience);
    }
    identity.expires_at = exp;
    return identity;
}

}  // namespace wsgate::auth
