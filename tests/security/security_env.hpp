#pragma once

// The security suite's shared gateway: one wsgate process with a hardened configuration, started
// once per test process (a GoogleTest environment), with a "bystander" client that must keep
// receiving events through every attack. Each test attacks it, checks the documented answer and
// the metric that counts it; the fixture then checks that the gateway is still healthy.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "gateway_process.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

namespace wsgate::test::security {

// The hardened configuration (security_env.cpp passes these to the gateway).
inline const std::string jwt_secret = "security-suite-hs256-secret-of-more-than-32-bytes";
inline const std::string jwt_issuer = "https://issuer.wsgate.test";
inline const std::string jwt_audience = "wsgate-security-suite";
inline const std::string bystander_key = "bystander-api-key";
inline const std::string attacker_key = "attacker-api-key";
inline const std::string allowed_origin = "https://app.example.com";
inline const std::string bystander_user = "bob";
inline const std::string bystander_channel = "user:bob";
inline constexpr int max_connections_per_ip = 8;
inline constexpr int message_rate = 200;    ///< messages per second per connection
inline constexpr int message_burst = 2000;  ///< refused this many in a row: closed 1008
inline constexpr int publish_rate = 50;     ///< events per second per API key
inline constexpr int publish_burst = 50;
inline constexpr int max_message_bytes = 65536;
inline constexpr int handshake_ms = 2000;

/// Seconds since the Unix epoch (JWT NumericDate).
std::int64_t now_seconds();

/// Claims of a token the gateway accepts for `sub` (iss, aud, exp in an hour), with `extra`
/// merged over them.
nlohmann::json claims_for(const std::string& sub,
                          const nlohmann::json& extra = nlohmann::json::object());
/// A valid HS256 token for `sub` (claims_for(sub, extra)).
std::string token_for(const std::string& sub,
                      const nlohmann::json& extra = nlohmann::json::object());
/// `Authorization: Bearer <token>`.
header_list bearer(const std::string& token);

/// A client of user `sub` connected with a valid token in its Authorization header.
std::unique_ptr<ws_client> connect_user(
    const std::string& sub, const nlohmann::json& extra_claims = nlohmann::json::object());

/// `wsgate_errors_total{source=...,code=...}` and `wsgate_closes_total{reason=...}`.
std::string errors_series(const std::string& source, const std::string& code);
std::string closes_series(const std::string& reason);

/// A /metrics counter remembered when constructed, to assert how much an attack added to it
/// (the suite shares one process, so absolute values depend on the tests before).
class counter {
  public:
    explicit counter(std::string series);
    /// Polls until the counter has grown by at least `n` (or `timeout` passed); the growth seen.
    double wait_growth(double n,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
    /// The growth now.
    double growth() const;
    const std::string& series() const { return series_; }

  private:
    double value() const;
    std::string series_;
    double start_;
};

/// The suite's gateway and its bystander; set up once per test process.
class suite_environment : public ::testing::Environment {
  public:
    void SetUp() override;
    void TearDown() override;

    /// Throws std::logic_error when SetUp() did not start the gateway.
    gateway_process& gateway();
    /// REST client with the bystander's API key.
    http_client& api() { return *api_; }
    /// REST client with the attacking publisher's API key.
    http_client& attacker_api() { return *attacker_api_; }
    ws_client& bystander() { return *bystander_; }

  private:
    std::unique_ptr<gateway_process> gateway_;
    std::unique_ptr<http_client> api_;
    std::unique_ptr<http_client> attacker_api_;
    std::unique_ptr<ws_client> bystander_;
    long rss_before_kib_ = -1;
    double fds_before_ = -1;
};

suite_environment& env();

/// Publishes an event to the bystander's channel over REST and checks that the bystander gets
/// it; returns how long that took.
std::chrono::milliseconds expect_bystander_receives();

/// After an attack: the process runs, /healthz answers 200, and the bystander answers a ping and
/// receives a published event.
void expect_gateway_healthy();

/// Prints a line of the suite's report (visible in the test output).
void note(const std::string& text);

/// Follows the bystander while an attack runs: an event every 100 ms must reach it.
class bystander_watch {
  public:
    void check();
    void report(const std::string& during) const;

  private:
    int events_ = 0;
    std::chrono::milliseconds slowest_{0};
};

/// Runs `attack` on its own thread while the bystander keeps receiving an event published every
/// 100 ms (and at least one); returns what the attack returned (or rethrows what it threw).
template <class Attack>
auto while_bystander_receives(const std::string& name, Attack attack) -> decltype(attack()) {
    auto result = std::async(std::launch::async, std::move(attack));
    bystander_watch watch;
    do {
        watch.check();
    } while (result.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready);
    watch.report(name);
    return result.get();
}

/// The fixture of every security test: after the test, the gateway must be healthy
/// (expect_gateway_healthy()); its RSS before and after the test is reported.
class security_test : public ::testing::Test {
  protected:
    void SetUp() override;
    void TearDown() override;

  private:
    long rss_before_kib_ = -1;
};

}  // namespace wsgate::test::security
