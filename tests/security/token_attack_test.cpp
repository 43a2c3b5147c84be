// Bad client tokens: forged, expired, not yet valid, alg:none, signed with the wrong key (and a
// few neighbours). Each is refused wherever a token can be presented: in the Authorization
// header and in ?token= of the upgrade (HTTP 401 invalid_token), and in the first `auth`
// message of a connection that came without one (close 4002 "authentication failed: <code>").

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <thread>

#include "jwt_mint.hpp"
#include "security_env.hpp"

namespace wsgate::test::security {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct bad_token_case {
    std::string name;
    std::function<std::string()> mint;  ///< made when the test runs (tokens depend on the time)
    std::string jwt_code;               ///< what the verifier says about it
};

void PrintTo(const bad_token_case& c, std::ostream* os) { *os << c.name; }

/// A token for the bystander's user carrying a signature the gateway once issued to mallory:
/// the payload was edited after signing.
std::string forged_token() {
    const std::string genuine = token_for("mallory");
    const auto dot1 = genuine.find('.');
    const auto dot2 = genuine.rfind('.');
    const std::string payload =
        base64url(claims_for(bystander_user, {{"channels", json::array({"*"})}}).dump());
    return genuine.substr(0, dot1 + 1) + payload + genuine.substr(dot2);
}

std::string query_target(const std::string& token) { return "/ws?token=" + token; }

class bad_token : public security_test, public ::testing::WithParamInterface<bad_token_case> {};

TEST_P(bad_token, is_refused_in_the_handshake_and_in_an_auth_message) {
    const auto& param = GetParam();
    const std::string token = param.mint();
    const auto port = env().gateway().public_port();
    const counter auth_errors(errors_series("auth", param.jwt_code));
    const counter handshake_errors(errors_series("handshake", "invalid_token"));
    const counter auth_failed_closes(closes_series("auth_failed"));

    const auto expect_refused = [&](const handshake_result& res, const std::string& how) {
        SCOPED_TRACE(how);
        EXPECT_FALSE(res.upgraded);
        EXPECT_EQ(res.status, 401u) << res.body;
        const auto body = json::parse(res.body, nullptr, false);
        ASSERT_TRUE(body.is_object() && body.contains("error")) << res.body;
        EXPECT_EQ(body["error"].value("code", ""), "invalid_token") << res.body;
        EXPECT_EQ(
            body["error"].value("message", "").rfind("token refused (" + param.jwt_code + ")", 0),
            0u)
            << res.body;
        note(param.name + " via " + how + ": HTTP " + std::to_string(res.status) + " " + res.body);
    };

    ws_client in_header;
    in_header.set_handshake_headers(bearer(token));
    expect_refused(in_header.try_connect(port), "Authorization header");

    ws_client in_query;
    expect_refused(in_query.try_connect(port, query_target(token)), "?token=");

    // Without a token the upgrade succeeds, but nothing (not even a welcome) comes before an
    // `auth` that succeeds.
    ws_client in_auth(10s);
    const auto upgrade = in_auth.try_connect(port);
    ASSERT_TRUE(upgrade.upgraded) << upgrade.status << " " << upgrade.body;
    in_auth.send_json({{"type", "auth"}, {"token", token}, {"id", 1}});
    const auto end = in_auth.read_until_close();
    EXPECT_TRUE(end.close_frame) << end.error.message();
    EXPECT_EQ(end.code, 4002);
    EXPECT_EQ(end.reason, "authentication failed: " + param.jwt_code);
    EXPECT_TRUE(end.frames.empty()) << end.frames.size() << " frames before the close";
    note(param.name + " via auth message: close " + std::to_string(end.code) + " \"" + end.reason +
         "\"");

    EXPECT_EQ(auth_errors.wait_growth(3), 3);
    EXPECT_EQ(handshake_errors.wait_growth(2), 2);
    EXPECT_EQ(auth_failed_closes.wait_growth(1), 1);
}

const std::string other_secret = "not-the-gateway-secret-but-just-as-long-as-it";

INSTANTIATE_TEST_SUITE_P(
    security, bad_token,
    ::testing::Values(
        bad_token_case{"forged", forged_token, "bad_signature"},
        bad_token_case{"expired",
                       [] {
                           return token_for("mallory", {{"exp", now_seconds() - 60}});
                       },
                       "expired"},
        bad_token_case{"not_yet_valid",
                       [] {
                           return token_for("mallory", {{"nbf", now_seconds() + 3600}});
                       },
                       "not_yet_valid"},
        bad_token_case{"alg_none", [] { return mint_none(claims_for("mallory")); },
                       "unsupported_algorithm"},
        bad_token_case{"alg_hs256_without_signature",
                       [] {
                           return mint("none", "", R"({"alg":"HS256","typ":"JWT"})",
                                       claims_for("mallory").dump());
                       },
                       "bad_signature"},
        bad_token_case{"wrong_key", [] { return mint_hs256(other_secret, claims_for("mallory")); },
                       "bad_signature"},
        bad_token_case{"wrong_issuer",
                       [] {
                           return token_for("mallory", {{"iss", "https://evil.example"}});
                       },
                       "wrong_issuer"},
        bad_token_case{"wrong_audience",
                       [] {
                           return token_for("mallory", {{"aud", "another-service"}});
                       },
                       "wrong_audience"},
        bad_token_case{"not_a_jwt", [] { return std::string("not-a-token"); }, "malformed"}),
    [](const ::testing::TestParamInfo<bad_token_case>& param_info) {
        return param_info.param.name;
    });

TEST_F(security_test, client_without_token_must_authenticate_first) {
    const auto port = env().gateway().public_port();
    const counter required_closes(closes_series("auth_required"));

    ws_client silent(10s), eager(10s);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(silent.try_connect(port).upgraded);
    ASSERT_TRUE(eager.try_connect(port).upgraded);

    // Anything but `auth` first closes the connection at once.
    eager.send_json({{"type", "subscribe"}, {"channel", bystander_channel}, {"id", 1}});
    const auto eager_end = eager.read_until_close();
    EXPECT_EQ(eager_end.code, 4001);
    EXPECT_EQ(eager_end.reason, "authentication required");
    EXPECT_TRUE(eager_end.frames.empty());

    // Saying nothing: closed after timeouts.welcome_ms.
    const auto silent_end = silent.read_until_close();
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    EXPECT_EQ(silent_end.code, 4001);
    EXPECT_EQ(silent_end.reason, "authentication required");
    EXPECT_TRUE(silent_end.frames.empty());
    EXPECT_GE(waited.count(), handshake_ms - 200);
    note("subscribe before auth: close " + std::to_string(eager_end.code) +
         "; silent client: close " + std::to_string(silent_end.code) + " after " +
         std::to_string(waited.count()) + " ms");

    EXPECT_EQ(required_closes.wait_growth(2), 2);
}

TEST_F(security_test, token_expiring_on_an_open_connection_closes_it_unless_refreshed) {
    const counter expired_closes(closes_series("token_expired"));
    const counter forbidden(errors_series("ws", "forbidden"));
    // Valid for two or three more seconds (leeway 0, whole seconds): time enough to connect and
    // refresh on a busy machine.
    const json short_lived{{"exp", now_seconds() + 3}};
    auto expiring = connect_user("carol", short_lived);
    auto refreshing = connect_user("dave", short_lived);

    // A refresh must name the same user: another user's token is refused and changes nothing.
    const auto swap = refreshing->request({{"type", "refresh"}, {"token", token_for("erin")}});
    EXPECT_EQ(swap.value("type", ""), "error") << swap.dump();
    EXPECT_EQ(swap.value("code", ""), "forbidden") << swap.dump();
    const auto refresh = refreshing->request({{"type", "refresh"}, {"token", token_for("dave")}});
    EXPECT_EQ(refresh.value("type", ""), "ack") << refresh.dump();

    const auto start = std::chrono::steady_clock::now();
    const auto end = expiring->read_until_close();
    EXPECT_EQ(end.code, 4003);
    EXPECT_EQ(end.reason, "token expired");
    EXPECT_TRUE(end.frames.empty());
    EXPECT_EQ(expired_closes.wait_growth(1), 1);
    note("token expiring on an open connection: close " + std::to_string(end.code) + " \"" +
         end.reason + "\" after " +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count()) +
         " ms");

    // The refreshed connection outlives its first token, which expired a moment after the
    // other's (it was minted with the same exp, a few milliseconds later).
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(refreshing->ping());
    EXPECT_EQ(expired_closes.growth(), 1);
    EXPECT_EQ(forbidden.wait_growth(1), 1);
}

}  // namespace
}  // namespace wsgate::test::security
