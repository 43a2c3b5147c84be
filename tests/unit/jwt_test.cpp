#include <wsgate/auth/jwt.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "jwt_mint.hpp"

using namespace wsgate::auth;
using namespace wsgate::test;
using nlohmann::json;

namespace {

constexpr std::int64_t now = 1'700'000'000;
const std::string secret = "an HS256 test secret, 32+ bytes long";

// Key generation takes a while (RSA): once per test binary.
const key_pair& rsa_key() {
    static const key_pair k = make_rsa_key();
    return k;
}
const key_pair& other_rsa_key() {
    static const key_pair k = make_rsa_key();
    return k;
}
const key_pair& ec_key() {
    static const key_pair k = make_ec_key();
    return k;
}
const key_pair& other_ec_key() {
    static const key_pair k = make_ec_key();
    return k;
}

jwt_settings hs256_settings() {
    jwt_settings s;
    s.algorithm = "HS256";
    s.secret = secret;
    return s;
}
jwt_settings rs256_settings(const key_pair& k = rsa_key()) {
    jwt_settings s;
    s.algorithm = "RS256";
    s.public_key_pem = k.public_pem;
    return s;
}
jwt_settings es256_settings(const key_pair& k = ec_key()) {
    jwt_settings s;
    s.algorithm = "ES256";
    s.public_key_pem = k.public_pem;
    return s;
}

json claims(json extra = json::object()) {
    json c = {{"sub", "alice"}, {"exp", now + 600}, {"iat", now}};
    for (auto& [k, v] : extra.items()) {
        if (v.is_null() && k.rfind("drop:", 0) == 0) {
            c.erase(k.substr(5));
        } else {
            c[k] = v;
        }
    }
    return c;
}

testing::AssertionResult refused(const std::variant<jwt_identity, jwt_error>& r,
                                 jwt_error_code expected) {
    if (const auto* id = std::get_if<jwt_identity>(&r)) {
        return testing::AssertionFailure()
               << "accepted (sub " << id->subject << "), expected " << to_string(expected);
    }
    const auto& e = std::get<jwt_error>(r);
    if (e.code != expected) {
        return testing::AssertionFailure() << "refused as " << to_string(e.code) << " ("
                                           << e.message << "), expected " << to_string(expected);
    }
    if (e.message.empty()) return testing::AssertionFailure() << "empty message";
    return testing::AssertionSuccess();
}

jwt_identity accepted(const std::variant<jwt_identity, jwt_error>& r) {
    if (const auto* e = std::get_if<jwt_error>(&r)) {
        ADD_FAILURE() << "refused as " << to_string(e->code) << ": " << e->message;
        return {};
    }
    return std::get<jwt_identity>(r);
}

/// The token's three parts.
std::vector<std::string> parts(const std::string& token) {
    std::vector<std::string> out(1);
    for (char c : token) {
        if (c == '.') {
            out.emplace_back();
        } else {
            out.back() += c;
        }
    }
    return out;
}

std::string join(const std::vector<std::string>& p) {
    std::string out;
    for (std::size_t i = 0; i < p.size(); ++i) out += (i ? "." : "") + p[i];
    return out;
}

/// The token with its signature replaced by `signature` (raw bytes).
std::string with_signature(const std::string& token, const std::string& signature) {
    auto p = parts(token);
    p[2] = base64url(signature);
    return join(p);
}

/// The raw bytes of the token's signature part.
std::string decoded_signature(const std::string& token) {
    auto p = parts(token);
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (char c : p[2]) {
        acc = (acc << 6) | static_cast<std::uint32_t>(alphabet.find(c));
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

}  // namespace

TEST(jwt, error_codes_have_stable_names) {
    EXPECT_STREQ(to_string(jwt_error_code::malformed), "malformed");
    EXPECT_STREQ(to_string(jwt_error_code::unsupported_algorithm), "unsupported_algorithm");
    EXPECT_STREQ(to_string(jwt_error_code::bad_signature), "bad_signature");
    EXPECT_STREQ(to_string(jwt_error_code::expired), "expired");
    EXPECT_STREQ(to_string(jwt_error_code::not_yet_valid), "not_yet_valid");
    EXPECT_STREQ(to_string(jwt_error_code::wrong_issuer), "wrong_issuer");
    EXPECT_STREQ(to_string(jwt_error_code::wrong_audience), "wrong_audience");
    EXPECT_STREQ(to_string(jwt_error_code::missing_subject), "missing_subject");
    EXPECT_STREQ(to_string(jwt_error_code::invalid_claims), "invalid_claims");
}

TEST(jwt, base64url_encoding_of_the_minter_matches_rfc4648) {
    EXPECT_EQ(base64url(""), "");
    EXPECT_EQ(base64url("f"), "Zg");
    EXPECT_EQ(base64url("fo"), "Zm8");
    EXPECT_EQ(base64url("foo"), "Zm9v");
    EXPECT_EQ(base64url("foob"), "Zm9vYg");
    EXPECT_EQ(base64url("\xfb\xff"), "-_8");
}

TEST(jwt, hs256_token_is_accepted_with_subject_expiry_and_channels) {
    jwt_verifier v(hs256_settings());
    auto id =
        accepted(v.verify(mint_hs256(secret, claims({{"channels", {"news", "room:*"}}})), now));
    EXPECT_EQ(id.subject, "alice");
    EXPECT_EQ(id.expires_at, now + 600);
    EXPECT_EQ(id.channels, (std::vector<std::string>{"news", "room:*"}));
}

TEST(jwt, rs256_token_is_accepted) {
    jwt_verifier v(rs256_settings());
    auto id =
        accepted(v.verify(mint_rs256(rsa_key().private_pem, claims({{"channels", {"a"}}})), now));
    EXPECT_EQ(id.subject, "alice");
    EXPECT_EQ(id.expires_at, now + 600);
    EXPECT_EQ(id.channels, std::vector<std::string>{"a"});
}

TEST(jwt, es256_token_is_accepted) {
    jwt_verifier v(es256_settings());
    const auto token = mint_es256(ec_key().private_pem, claims({{"channels", json::array()}}));
    EXPECT_EQ(decoded_signature(token).size(), 64u);
    auto id = accepted(v.verify(token, now));
    EXPECT_EQ(id.subject, "alice");
    EXPECT_EQ(id.expires_at, now + 600);
    EXPECT_TRUE(id.channels.empty());
}

TEST(jwt, exp_and_channels_are_optional_and_a_copy_verifies_too) {
    jwt_verifier original(hs256_settings());
    jwt_verifier v = original;
    auto id = accepted(v.verify(mint_hs256(secret, {{"sub", "bob"}}), now));
    EXPECT_EQ(id.subject, "bob");
    EXPECT_FALSE(id.expires_at.has_value());
    EXPECT_TRUE(id.channels.empty());
}

TEST(jwt, fractional_times_are_accepted_and_exp_rounds_up) {
    jwt_verifier v(hs256_settings());
    auto id = accepted(v.verify(
        mint_hs256(secret, claims({{"exp", now + 10.25}, {"nbf", now - 0.5}, {"iat", now + 0.1}})),
        now));
    EXPECT_EQ(id.expires_at, now + 11);
}

TEST(jwt, a_custom_channels_claim_is_read) {
    auto s = hs256_settings();
    s.channels_claim = "https://example.com/channels";
    jwt_verifier v(s);
    auto id = accepted(v.verify(
        mint_hs256(secret, claims({{"https://example.com/channels", {"x"}}, {"channels", 5}})),
        now));
    EXPECT_EQ(id.channels, std::vector<std::string>{"x"});
}

TEST(jwt, alg_none_is_refused_with_and_without_a_signature) {
    jwt_verifier v(hs256_settings());
    const auto none = mint_none(claims());
    ASSERT_EQ(none.back(), '.');
    EXPECT_TRUE(refused(v.verify(none, now), jwt_error_code::unsupported_algorithm));
    EXPECT_TRUE(refused(v.verify(none.substr(0, none.size() - 1), now), jwt_error_code::malformed));
    // alg none in the header, yet a valid HMAC: still refused.
    const auto payload = claims().dump();
    for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
        const std::string header = json{{"alg", alg}, {"typ", "JWT"}}.dump();
        EXPECT_TRUE(refused(v.verify(mint("HS256", secret, header, payload), now),
                            jwt_error_code::unsupported_algorithm))
            << alg;
    }
    jwt_verifier rs(rs256_settings());
    EXPECT_TRUE(refused(rs.verify(none, now), jwt_error_code::unsupported_algorithm));
    jwt_verifier es(es256_settings());
    EXPECT_TRUE(refused(es.verify(none, now), jwt_error_code::unsupported_algorithm));
}

TEST(jwt, alg_must_be_exactly_the_configured_one) {
    jwt_verifier v(hs256_settings());
    const auto payload = claims().dump();
    for (const char* alg : {"hs256", "HS384", "HS512", "RS256", "ES256", "HS256 ", ""}) {
        const std::string header = json{{"alg", alg}}.dump();
        EXPECT_TRUE(refused(v.verify(mint("HS256", secret, header, payload), now),
                            jwt_error_code::unsupported_algorithm))
            << alg;
    }
    EXPECT_TRUE(refused(v.verify(mint("HS256", secret, R"({"typ":"JWT"})", payload), now),
                        jwt_error_code::malformed));
    EXPECT_TRUE(refused(v.verify(mint("HS256", secret, R"({"alg":["HS256"]})", payload), now),
                        jwt_error_code::malformed));
    EXPECT_TRUE(refused(v.verify(mint_rs256(rsa_key().private_pem, claims()), now),
                        jwt_error_code::unsupported_algorithm));
    jwt_verifier rs(rs256_settings());
    EXPECT_TRUE(refused(rs.verify(mint_es256(ec_key().private_pem, claims()), now),
                        jwt_error_code::unsupported_algorithm));
    jwt_verifier es(es256_settings());
    EXPECT_TRUE(refused(es.verify(mint_rs256(rsa_key().private_pem, claims()), now),
                        jwt_error_code::unsupported_algorithm));
}

TEST(jwt, public_key_used_as_hmac_secret_is_refused) {
    // The classic key confusion: the attacker knows the public key and signs with HMAC under it.
    const auto payload = claims().dump();
    for (const auto& [settings, pem] : {std::pair{rs256_settings(), rsa_key().public_pem},
                                        std::pair{es256_settings(), ec_key().public_pem}}) {
        jwt_verifier v(settings);
        EXPECT_TRUE(refused(v.verify(mint_hs256(pem, claims()), now),
                            jwt_error_code::unsupported_algorithm));
        // Header naming the configured algorithm, HMAC signature: not an RSA/ECDSA signature.
        const std::string header = json{{"alg", settings.algorithm}}.dump();
        EXPECT_TRUE(refused(v.verify(mint("HS256", pem, header, payload), now),
                            jwt_error_code::bad_signature));
    }
}

TEST(jwt, a_flipped_signature_byte_is_a_bad_signature) {
    struct kase {
        jwt_settings settings;
        std::string token;
    };
    for (const auto& c : {kase{hs256_settings(), mint_hs256(secret, claims())},
                          kase{rs256_settings(), mint_rs256(rsa_key().private_pem, claims())},
                          kase{es256_settings(), mint_es256(ec_key().private_pem, claims())}}) {
        jwt_verifier v(c.settings);
        ASSERT_TRUE(std::holds_alternative<jwt_identity>(v.verify(c.token, now)));
        const auto sig = decoded_signature(c.token);
        for (std::size_t i : {std::size_t{0}, sig.size() / 2, sig.size() - 1}) {
            auto bad = sig;
            bad[i] = static_cast<char>(bad[i] ^ 0x01);
            EXPECT_TRUE(
                refused(v.verify(with_signature(c.token, bad), now), jwt_error_code::bad_signature))
                << c.settings.algorithm << " byte " << i;
        }
        EXPECT_TRUE(
            refused(v.verify(with_signature(c.token, ""), now), jwt_error_code::bad_signature));
        // The payload changed under the same signature.
        auto p = parts(c.token);
        p[1] = base64url(claims({{"sub", "mallory"}}).dump());
        EXPECT_TRUE(refused(v.verify(join(p), now), jwt_error_code::bad_signature));
    }
}

TEST(jwt, a_token_signed_with_another_key_is_a_bad_signature) {
    jwt_verifier hs(hs256_settings());
    EXPECT_TRUE(
        refused(hs.verify(mint_hs256(secret + "x", claims()), now), jwt_error_code::bad_signature));
    jwt_verifier rs(rs256_settings());
    EXPECT_TRUE(refused(rs.verify(mint_rs256(other_rsa_key().private_pem, claims()), now),
                        jwt_error_code::bad_signature));
    jwt_verifier es(es256_settings());
    EXPECT_TRUE(refused(es.verify(mint_es256(other_ec_key().private_pem, claims()), now),
                        jwt_error_code::bad_signature));
}

TEST(jwt, es256_signatures_of_the_wrong_length_are_refused) {
    jwt_verifier v(es256_settings());
    const auto token = mint_es256(ec_key().private_pem, claims());
    const auto sig = decoded_signature(token);
    ASSERT_EQ(sig.size(), 64u);
    EXPECT_TRUE(refused(v.verify(with_signature(token, sig.substr(0, 63)), now),
                        jwt_error_code::bad_signature));
    EXPECT_TRUE(
        refused(v.verify(with_signature(token, sig + '\0'), now), jwt_error_code::bad_signature));
    EXPECT_TRUE(refused(v.verify(with_signature(token, std::string(1, '\0') + sig), now),
                        jwt_error_code::bad_signature));
    // DER (what OpenSSL produces, 0x30 len 0x02 ...) instead of R || S.
    const std::string der = "\x30\x44\x02\x20" + sig.substr(0, 32) + "\x02\x20" + sig.substr(32);
    EXPECT_TRUE(refused(v.verify(with_signature(token, der), now), jwt_error_code::bad_signature));
    EXPECT_TRUE(refused(v.verify(with_signature(token, std::string(64, '\0')), now),
                        jwt_error_code::bad_signature));
    EXPECT_TRUE(refused(v.verify(with_signature(token, std::string(64, '\xff')), now),
                        jwt_error_code::bad_signature));
}

TEST(jwt, rs256_signature_of_the_wrong_length_is_refused) {
    jwt_verifier v(rs256_settings());
    const auto token = mint_rs256(rsa_key().private_pem, claims());
    const auto sig = decoded_signature(token);
    ASSERT_EQ(sig.size(), 256u);
    EXPECT_TRUE(refused(v.verify(with_signature(token, std::string(1, '\0') + sig), now),
                        jwt_error_code::bad_signature));
    EXPECT_TRUE(refused(v.verify(with_signature(token, sig.substr(1)), now),
                        jwt_error_code::bad_signature));
}

TEST(jwt, expiry_is_checked_with_leeway) {
    jwt_verifier v(hs256_settings());  // leeway 30 s
    auto at = [&](std::int64_t exp) {
        return v.verify(mint_hs256(secret, claims({{"exp", exp}})), now);
    };
    EXPECT_TRUE(refused(at(now - 3600), jwt_error_code::expired));
    EXPECT_TRUE(refused(at(now - 31), jwt_error_code::expired));
    EXPECT_TRUE(refused(at(now - 30), jwt_error_code::expired));  // valid only before exp
    EXPECT_EQ(accepted(at(now - 29)).expires_at, now - 29);       // within the leeway
    EXPECT_EQ(accepted(at(now)).expires_at, now);

    auto strict = hs256_settings();
    strict.leeway = std::chrono::seconds(0);
    jwt_verifier s(strict);
    EXPECT_TRUE(refused(s.verify(mint_hs256(secret, claims({{"exp", now}})), now),
                        jwt_error_code::expired));
    accepted(s.verify(mint_hs256(secret, claims({{"exp", now + 1}})), now));
    EXPECT_TRUE(refused(s.verify(mint_hs256(secret, claims({{"exp", now - 0.5}})), now),
                        jwt_error_code::expired));
    accepted(s.verify(mint_hs256(secret, claims({{"exp", now + 0.5}})), now));
}

TEST(jwt, not_before_in_the_future_is_refused_beyond_the_leeway) {
    jwt_verifier v(hs256_settings());
    auto at = [&](json nbf) { return v.verify(mint_hs256(secret, claims({{"nbf", nbf}})), now); };
    EXPECT_TRUE(refused(at(now + 3600), jwt_error_code::not_yet_valid));
    EXPECT_TRUE(refused(at(now + 31), jwt_error_code::not_yet_valid));
    EXPECT_TRUE(refused(at(now + 30.5), jwt_error_code::not_yet_valid));
    accepted(at(now + 30));
    accepted(at(now));
    accepted(at(now - 100));
}

TEST(jwt, extreme_times_neither_overflow_nor_pass) {
    auto s = hs256_settings();
    s.leeway = std::chrono::seconds::max();
    jwt_verifier huge_leeway(s);
    accepted(huge_leeway.verify(mint_hs256(secret, claims({{"exp", 0}})), now));
    jwt_verifier v(hs256_settings());
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"exp", -1e300}})), now),
                        jwt_error_code::expired));
    EXPECT_TRUE(refused(
        v.verify(mint_hs256(secret, claims({{"exp", std::numeric_limits<std::int64_t>::min()}})),
                 now),
        jwt_error_code::expired));
    EXPECT_EQ(accepted(v.verify(mint_hs256(secret, claims({{"exp", 1e300}})), now)).expires_at,
              std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(accepted(v.verify(mint_hs256(secret, claims({{"exp", 18446744073709551615u}})), now))
                  .expires_at,
              std::numeric_limits<std::int64_t>::max());
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"nbf", 1e300}})), now),
                        jwt_error_code::not_yet_valid));
    EXPECT_TRUE(
        refused(v.verify(mint_hs256(secret, claims()), std::numeric_limits<std::int64_t>::max()),
                jwt_error_code::expired));
    accepted(v.verify(mint_hs256(secret, claims({{"drop:exp", nullptr}})),
                      std::numeric_limits<std::int64_t>::max()));
    // Out of double range: not JSON we accept.
    const auto overflow = mint("HS256", secret, R"({"alg":"HS256"})", R"({"sub":"a","exp":1e999})");
    EXPECT_FALSE(std::holds_alternative<jwt_identity>(v.verify(overflow, now)));
}

TEST(jwt, time_claims_must_be_numbers) {
    jwt_verifier v(hs256_settings());
    for (const char* name : {"exp", "nbf", "iat"}) {
        for (json bad :
             {json("1700000600"), json(true), json(nullptr), json::array(), json::object()}) {
            EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{name, bad}})), now),
                                jwt_error_code::invalid_claims))
                << name << " " << bad.dump();
        }
    }
}

TEST(jwt, issuer_is_checked_when_configured) {
    auto s = hs256_settings();
    s.issuer = "https://auth.example.com/";
    jwt_verifier v(s);
    accepted(v.verify(mint_hs256(secret, claims({{"iss", "https://auth.example.com/"}})), now));
    EXPECT_TRUE(
        refused(v.verify(mint_hs256(secret, claims({{"iss", "https://auth.example.com"}})), now),
                jwt_error_code::wrong_issuer));
    EXPECT_TRUE(
        refused(v.verify(mint_hs256(secret, claims({{"iss", "https://evil.example/"}})), now),
                jwt_error_code::wrong_issuer));
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims()), now), jwt_error_code::wrong_issuer));
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"iss", 1}})), now),
                        jwt_error_code::invalid_claims));
    // Not configured: any string issuer passes.
    jwt_verifier any(hs256_settings());
    accepted(any.verify(mint_hs256(secret, claims({{"iss", "whoever"}})), now));
}

TEST(jwt, audience_is_checked_as_string_or_array_when_configured) {
    auto s = hs256_settings();
    s.audience = "wsgate";
    jwt_verifier v(s);
    accepted(v.verify(mint_hs256(secret, claims({{"aud", "wsgate"}})), now));
    accepted(v.verify(mint_hs256(secret, claims({{"aud", {"api", "wsgate"}}})), now));
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"aud", "api"}})), now),
                        jwt_error_code::wrong_audience));
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"aud", "WSGATE"}})), now),
                        jwt_error_code::wrong_audience));
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"aud", {"api", "billing"}}})), now),
                        jwt_error_code::wrong_audience));
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"aud", json::array()}})), now),
                        jwt_error_code::wrong_audience));
    EXPECT_TRUE(
        refused(v.verify(mint_hs256(secret, claims()), now), jwt_error_code::wrong_audience));
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"aud", {"wsgate", 7}}})), now),
                        jwt_error_code::invalid_claims));
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"aud", {{"x", "wsgate"}}}})), now),
                        jwt_error_code::invalid_claims));
}

TEST(jwt, subject_is_required_as_a_short_non_empty_string) {
    jwt_verifier v(hs256_settings());
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"drop:sub", nullptr}})), now),
                        jwt_error_code::missing_subject));
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"sub", ""}})), now),
                        jwt_error_code::missing_subject));
    const auto null_sub = mint("HS256", secret, R"({"alg":"HS256"})", R"({"sub":null})");
    EXPECT_TRUE(refused(v.verify(null_sub, now), jwt_error_code::missing_subject));
    for (json bad : {json(42), json(true), json::array({"alice"}), json{{"id", "alice"}}}) {
        EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"sub", bad}})), now),
                            jwt_error_code::invalid_claims))
            << bad.dump();
    }
    EXPECT_EQ(accepted(v.verify(mint_hs256(secret, claims({{"sub", std::string(256, 'u')}})), now))
                  .subject.size(),
              256u);
    EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"sub", std::string(257, 'u')}})), now),
                        jwt_error_code::invalid_claims));
}

TEST(jwt, channels_claim_must_be_an_array_of_strings) {
    jwt_verifier v(hs256_settings());
    for (json bad : {json("news"), json(1), json(nullptr), json::object(), json::array({"a", 1}),
                     json::array({json::array({"a"})})}) {
        EXPECT_TRUE(refused(v.verify(mint_hs256(secret, claims({{"channels", bad}})), now),
                            jwt_error_code::invalid_claims))
            << bad.dump();
    }
}

TEST(jwt, typ_may_be_jwt_in_any_case_and_crit_is_refused) {
    jwt_verifier v(hs256_settings());
    const auto payload = claims().dump();
    for (const char* typ :
         {"JWT", "jwt", "Jwt", "application/jwt", "at+jwt", "application/at+JWT"}) {
        accepted(v.verify(
            mint("HS256", secret, json{{"alg", "HS256"}, {"typ", typ}}.dump(), payload), now));
    }
    for (json typ : {json("JWS"), json("JOSE"), json("logout+jwt"), json(""), json(1)}) {
        EXPECT_TRUE(refused(
            v.verify(mint("HS256", secret, json{{"alg", "HS256"}, {"typ", typ}}.dump(), payload),
                     now),
            jwt_error_code::malformed))
            << typ.dump();
    }
    EXPECT_TRUE(refused(
        v.verify(mint("HS256", secret, R"({"alg":"HS256","crit":["b64"],"b64":false})", payload),
                 now),
        jwt_error_code::malformed));
}

TEST(jwt, malformed_tokens_are_refused) {
    jwt_verifier v(hs256_settings());
    const auto good = mint_hs256(secret, claims());
    const auto p = parts(good);
    ASSERT_EQ(p.size(), 3u);
    const auto m = jwt_error_code::malformed;
    EXPECT_TRUE(refused(v.verify("", now), m));
    EXPECT_TRUE(refused(v.verify(".", now), m));
    EXPECT_TRUE(refused(v.verify("..", now), m));
    EXPECT_TRUE(refused(v.verify(p[0] + "." + p[1], now), m));
    EXPECT_TRUE(refused(v.verify(good + ".", now), m));
    EXPECT_TRUE(refused(v.verify(good + "." + p[2], now), m));
    EXPECT_TRUE(refused(v.verify(good + " ", now), m));
    EXPECT_TRUE(refused(v.verify(" " + good, now), m));
    EXPECT_TRUE(refused(v.verify("Bearer " + good, now), m));
    // Not base64url: standard alphabet, padding, a stray character, an impossible length.
    for (std::size_t i = 0; i < 3; ++i) {
        for (const std::string suffix : {"=", "==", "+", "/", "*", "A"}) {
            auto q = p;
            q[i] += suffix;
            if (suffix == "A" && (q[i].size() % 4) != 1) continue;
            EXPECT_TRUE(refused(v.verify(join(q), now), m)) << i << " " << suffix;
        }
    }
    // Non-zero unused bits in the last character: another spelling of the same bytes.
    {
        auto q = p;
        ASSERT_EQ(q[2].size(), 43u);  // 32 bytes: the last character carries 2 unused bits
        const std::string alphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        q[2].back() = alphabet[alphabet.find(q[2].back()) ^ 1];
        EXPECT_TRUE(refused(v.verify(join(q), now), m));
    }
    // Header and payload must be JSON objects.
    for (const std::string& bad :
         {std::string("[]"), std::string("\"HS256\""), std::string("123"), std::string("null"),
          std::string("not json"), std::string("{\"alg\":\"HS256\""), std::string(""),
          std::string("{\"alg\":\"HS256\"}{}"),
          std::string("{\"alg\":\"HS256\",\"x\":\"\xff\"}")}) {
        EXPECT_TRUE(refused(v.verify(mint("HS256", secret, bad, claims().dump()), now), m)) << bad;
        EXPECT_TRUE(refused(v.verify(mint("HS256", secret, R"({"alg":"HS256"})", bad), now), m))
            << bad;
    }
}

TEST(jwt, token_length_is_bounded_before_decoding) {
    jwt_verifier v(hs256_settings());
    const auto big = mint_hs256(secret, claims({{"pad", std::string(5900, 'x')}}));
    ASSERT_LE(big.size(), 8192u);
    accepted(v.verify(big, now));
    const auto huge = mint_hs256(secret, claims({{"pad", std::string(6200, 'x')}}));
    EXPECT_GT(huge.size(), 8192u);
    EXPECT_TRUE(refused(v.verify(huge, now), jwt_error_code::malformed));
    EXPECT_TRUE(refused(v.verify(std::string(1 << 20, 'A'), now), jwt_error_code::malformed));
    auto s = hs256_settings();
    s.max_token_bytes = 100;
    EXPECT_TRUE(refused(jwt_verifier(s).verify(mint_hs256(secret, claims()), now),
                        jwt_error_code::malformed));
}

TEST(jwt, unusable_settings_throw_a_one_line_invalid_argument) {
    auto expect_throw = [](jwt_settings s, const std::string& fragment) {
        try {
            jwt_verifier v(std::move(s));
            ADD_FAILURE() << "no exception, expected one mentioning " << fragment;
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(fragment), std::string::npos) << what;
            EXPECT_EQ(what.find('\n'), std::string::npos) << what;
            EXPECT_EQ(what.rfind("jwt: ", 0), 0u) << what;
        }
    };
    for (const char* alg : {"", "none", "hs256", "HS512", "PS256", "EdDSA"}) {
        auto s = hs256_settings();
        s.algorithm = alg;
        expect_throw(s, "HS256, RS256 or ES256");
    }
    auto s = hs256_settings();
    s.secret = "";
    expect_throw(s, "at least 32 bytes");
    s.secret = std::string(31, 's');
    expect_throw(s, "at least 32 bytes");
    s = hs256_settings();
    s.public_key_pem = rsa_key().public_pem;
    expect_throw(s, "not public_key_pem");
    s = hs256_settings();
    s.leeway = std::chrono::seconds(-1);
    expect_throw(s, "leeway");
    s = hs256_settings();
    s.channels_claim = "";
    expect_throw(s, "channels_claim");

    s = rs256_settings();
    s.secret = secret;
    expect_throw(s, "not a secret");
    s = rs256_settings();
    s.public_key_pem = "";
    expect_throw(s, "needs public_key_pem");
    for (const std::string& pem :
         {std::string("not a key"), rsa_key().private_pem,
          std::string("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
          rsa_key().public_pem.substr(0, rsa_key().public_pem.size() / 2)}) {
        s.public_key_pem = pem;
        expect_throw(s, "not a PEM public key");
    }
    expect_throw(rs256_settings(ec_key()), "RS256 needs an RSA public key");
    expect_throw(rs256_settings(make_rsa_key(1024)), "at least 2048");
    expect_throw(es256_settings(rsa_key()), "ES256 needs an EC P-256 public key");
    expect_throw(es256_settings(make_ec_key("P-384")), "P-256");
    expect_throw(es256_settings(make_ec_key("secp256k1")), "P-256");
}

TEST(jwt, mutated_tokens_never_pass_and_never_throw) {
    std::mt19937 rng(12345);
    std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
    alphabet += '\0';
    alphabet += '\xff';
    struct kase {
        jwt_settings settings;
        std::string token;
    };
    for (const auto& c : {kase{hs256_settings(), mint_hs256(secret, claims())},
                          kase{rs256_settings(), mint_rs256(rsa_key().private_pem, claims())},
                          kase{es256_settings(), mint_es256(ec_key().private_pem, claims())}}) {
        jwt_verifier v(c.settings);
        for (int round = 0; round < 1500; ++round) {
            std::string t = c.token;
            const int edits = 1 + static_cast<int>(rng() % 3);
            for (int e = 0; e < edits && !t.empty(); ++e) {
                const std::size_t at = rng() % t.size();
                switch (rng() % 3) {
                    case 0:
                        t[at] = alphabet[rng() % alphabet.size()];
                        break;
                    case 1:
                        t.erase(at, 1 + rng() % 4);
                        break;
                    default:
                        t.insert(at, 1, alphabet[rng() % alphabet.size()]);
                        break;
                }
            }
            std::variant<jwt_identity, jwt_error> r;
            ASSERT_NO_THROW(r = v.verify(t, now));
            if (std::holds_alternative<jwt_identity>(r)) {
                EXPECT_EQ(t, c.token) << "a changed token passed";
            }
        }
        // Random bytes with dots in them.
        for (int round = 0; round < 500; ++round) {
            std::string t(rng() % 200, '\0');
            for (auto& ch : t) ch = (rng() % 8 == 0) ? '.' : static_cast<char>(rng() & 0xff);
            std::variant<jwt_identity, jwt_error> r;
            ASSERT_NO_THROW(r = v.verify(t, now));
            EXPECT_FALSE(std::holds_alternative<jwt_identity>(r));
        }
    }
}
