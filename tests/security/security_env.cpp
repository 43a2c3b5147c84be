#include "security_env.hpp"

#include <algorithm>
#include <csignal>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "expectations.hpp"
#include "jwt_mint.hpp"
#include "polling.hpp"

namespace wsgate::test::security {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// How much the gateway's RSS may grow over the whole suite. The attacks themselves must not
// cost memory (a 10 MiB frame is refused from its header, a flood is dropped); this leaves
// room for allocator and sanitizer bookkeeping.
constexpr long rss_growth_bound_kib = 64 * 1024;

suite_environment* the_environment = nullptr;

json channel_rules() {
    return json::array({
        {{"pattern", "user:{sub}"}, {"subscribe", "owner"}},
        {{"pattern", "public.*"}, {"subscribe", "anyone"}},
        {{"pattern", "room:*"}, {"subscribe", "claim"}, {"publish", "claim"}},
        {{"pattern", "*"}, {"subscribe", "users"}},
    });
}

std::vector<std::string> hardened_arguments() {
    return {
        "--auth.jwt.algorithm=HS256",
        "--auth.jwt.secret=" + jwt_secret,
        "--auth.jwt.issuer=" + jwt_issuer,
        "--auth.jwt.audience=" + jwt_audience,
        "--auth.jwt.leeway_ms=0",
        "--auth.anonymous=false",
        "--auth.api_keys=" + bystander_key + "," + attacker_key,
        "--channels=" + channel_rules().dump(),
        "--server.allowed_origins=" + allowed_origin,
        "--limits.max_connections_per_ip=" + std::to_string(max_connections_per_ip),
        "--limits.message_rate=" + std::to_string(message_rate),
        "--limits.message_burst=" + std::to_string(message_burst),
        "--limits.publish_rate=" + std::to_string(publish_rate),
        "--limits.publish_burst=" + std::to_string(publish_burst),
        "--limits.max_message_bytes=" + std::to_string(max_message_bytes),
        "--timeouts.handshake_ms=" + std::to_string(handshake_ms),
        "--timeouts.welcome_ms=" + std::to_string(handshake_ms),
    };
}

double open_fds() { return env().api().metric("process_open_fds"); }

}  // namespace

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

json claims_for(const std::string& sub, const json& extra) {
    json claims{{"sub", sub},
                {"iss", jwt_issuer},
                {"aud", jwt_audience},
                {"iat", now_seconds()},
                {"exp", now_seconds() + 3600}};
    claims.update(extra);
    return claims;
}

std::string token_for(const std::string& sub, const json& extra) {
    return mint_hs256(jwt_secret, claims_for(sub, extra));
}

header_list bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::unique_ptr<ws_client> connect_user(const std::string& sub, const json& extra_claims) {
    auto client = std::make_unique<ws_client>(10s);
    client->set_handshake_headers(bearer(token_for(sub, extra_claims)));
    const auto welcome = client->connect(env().gateway().public_port());
    EXPECT_EQ(welcome.value("user", json()), sub) << welcome.dump();
    return client;
}

std::string errors_series(const std::string& source, const std::string& code) {
    return "wsgate_errors_total{source=\"" + source + "\",code=\"" + code + "\"}";
}

std::string closes_series(const std::string& reason) {
    return "wsgate_closes_total{reason=\"" + reason + "\"}";
}

counter::counter(std::string series) : series_(std::move(series)), start_(value()) {}

double counter::value() const {
    // An error series appears with its first count.
    return std::max(0.0, env().api().metric(series_));
}

double counter::growth() const { return value() - start_; }

double counter::wait_growth(double n, std::chrono::milliseconds timeout) const {
    double seen = 0;
    wait_until([&] { return (seen = growth()) >= n; }, timeout, 20ms);
    return seen;
}

void suite_environment::SetUp() {
    gateway_ = std::make_unique<gateway_process>(hardened_arguments());
    api_ = std::make_unique<http_client>(gateway_->api_port(), 10s);
    api_->set_api_key(bystander_key);
    attacker_api_ = std::make_unique<http_client>(gateway_->api_port(), 10s);
    attacker_api_->set_api_key(attacker_key);

    bystander_ = std::make_unique<ws_client>(10s);
    bystander_->set_handshake_headers(bearer(token_for(bystander_user)));
    bystander_->connect(gateway_->public_port());
    bystander_->subscribe(bystander_channel);
    expect_bystander_receives();

    rss_before_kib_ = gateway_->resident_kib();
    fds_before_ = open_fds();
    note("gateway pid " + std::to_string(gateway_->pid()) + ": RSS " +
         std::to_string(rss_before_kib_) + " KiB, " + std::to_string(int(fds_before_)) +
         " open fds at the start");
}

void suite_environment::TearDown() {
    if (!gateway_) {
        return;
    }
    EXPECT_TRUE(gateway_->running()) << "the gateway died during the suite";
    if (gateway_->running()) {
        expect_gateway_healthy();
        // Every attacker's socket is gone once the gateway's close handshakes and lingers end.
        double fds = -1;
        wait_until([&] { return (fds = open_fds()) <= fds_before_; }, 10s, 50ms);
        EXPECT_LE(fds, fds_before_) << "file descriptors left open after the suite";
        const long rss_after = gateway_->resident_kib();
        std::ostringstream line;
        line << "security suite: RSS before " << rss_before_kib_ << " KiB, after " << rss_after
             << " KiB (open fds before " << fds_before_ << ", after " << fds << ")";
        note(line.str());
        EXPECT_LT(rss_after, rss_before_kib_ + rss_growth_bound_kib)
            << "the gateway's RSS grew by more than " << rss_growth_bound_kib << " KiB";
        // After all that, it still shuts down cleanly (under the sanitizers: without a leak).
        bystander_.reset();
        gateway_->send_signal(SIGTERM);
        EXPECT_EQ(gateway_->wait_exit(30s), 0) << "the gateway did not exit cleanly on SIGTERM";
    }
    bystander_.reset();
    gateway_.reset();
}

gateway_process& suite_environment::gateway() {
    if (!gateway_) {
        throw std::logic_error("the security suite's gateway did not start");
    }
    return *gateway_;
}

suite_environment& env() {
    if (the_environment == nullptr) {
        throw std::logic_error("the security suite's environment is not registered");
    }
    return *the_environment;
}

std::chrono::milliseconds expect_bystander_receives() {
    static int published = 0;
    const json data{{"n", ++published}};
    const auto start = std::chrono::steady_clock::now();
    const std::string id =
        env().api().publish_ok(channel_event(bystander_channel, "heartbeat", data));
    expect_event(env().bystander().read_json(), id, "heartbeat", bystander_channel, data);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
}

void expect_gateway_healthy() {
    auto& gw = env().gateway();
    ASSERT_TRUE(gw.running()) << "the gateway is not running";
    EXPECT_EQ(env().api().get("/healthz").status, 200u);
    EXPECT_TRUE(env().bystander().ping()) << "the bystander's ping was not answered";
    expect_bystander_receives();
}

void note(const std::string& text) { std::cout << "[   NOTE   ] " << text << std::endl; }

void bystander_watch::check() {
    slowest_ = std::max(slowest_, expect_bystander_receives());
    ++events_;
}

void bystander_watch::report(const std::string& during) const {
    note("bystander during " + during + ": " + std::to_string(events_) +
         " events received, slowest publish-to-delivery " + std::to_string(slowest_.count()) +
         " ms");
}

void security_test::SetUp() { rss_before_kib_ = env().gateway().resident_kib(); }

void security_test::TearDown() {
    expect_gateway_healthy();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    note(std::string(info->name()) + ": gateway RSS " + std::to_string(rss_before_kib_) + " -> " +
         std::to_string(env().gateway().resident_kib()) + " KiB");
}

namespace {
// Registered before main() runs (GoogleTest owns and deletes it).
[[maybe_unused]] ::testing::Environment* const registered =
    ::testing::AddGlobalTestEnvironment(the_environment = new suite_environment);
}  // namespace

}  // namespace wsgate::test::security
