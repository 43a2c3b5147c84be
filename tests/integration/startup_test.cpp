// Command line, configuration layers and configuration errors.

#include <gtest/gtest.h>

#include <string>

#include "gateway_process.hpp"
#include "http_client.hpp"
#include "temp_dir.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;

/// Records a failure unless the run failed with exit status 2 and exactly one stderr line
/// `wsgate: configuration error: <key>: <why>`.
void expect_config_error(const run_result& result, const std::string& key) {
    EXPECT_EQ(result.exit_status, 2) << result.err;
    const std::string prefix = "wsgate: configuration error: " + key + ": ";
    EXPECT_EQ(result.err.rfind(prefix, 0), 0u) << result.err;
    EXPECT_GT(result.err.size(), prefix.size() + 1) << "no reason given: " << result.err;
    const auto newline = result.err.find('\n');
    EXPECT_TRUE(newline == std::string::npos || newline == result.err.size() - 1)
        << "more than one line: " << result.err;
}

TEST(startup, help_lists_every_key_with_its_environment_variable_and_exits_0) {
    const auto result = gateway_process::run_to_completion({"--help"});
    EXPECT_EQ(result.exit_status, 0) << result.err;
    for (const char* text :
         {"server.listen", "limits.max_message_bytes", "WSGATE_LIMITS_MAX_MESSAGE_BYTES",
          "heartbeat.interval_ms", "shutdown.drain_ms", "auth.api_keys"}) {
        EXPECT_NE(result.out.find(text), std::string::npos) << text << " not in --help";
    }
}

TEST(startup, version_prints_the_version_and_exits_0) {
    const auto result = gateway_process::run_to_completion({"--version"});
    EXPECT_EQ(result.exit_status, 0) << result.err;
    EXPECT_NE(result.out.find(WSGATE_VERSION), std::string::npos) << result.out;
}

TEST(startup, out_of_range_flag_value_fails_with_exit_2_naming_the_key) {
    expect_config_error(gateway_process::run_to_completion({"--limits.max_message_bytes", "10"}),
                        "limits.max_message_bytes");
}

TEST(startup, out_of_range_value_given_with_an_equals_sign_fails_the_same_way) {
    expect_config_error(gateway_process::run_to_completion({"--limits.max_message_bytes=10"}),
                        "limits.max_message_bytes");
}

TEST(startup, unknown_flag_fails_with_exit_2_naming_the_flag_as_given) {
    expect_config_error(gateway_process::run_to_completion({"--nope", "1"}), "--nope");
}

TEST(startup, unknown_key_in_the_config_file_fails_with_exit_2_naming_the_key) {
    temp_dir dir;
    const auto file = dir.write_file("wsgate.json", R"({"limits": {"nope": 1}})");
    expect_config_error(gateway_process::run_to_completion({"--config", file.string()}),
                        "limits.nope");
}

TEST(startup, wrong_type_in_the_config_file_fails_with_exit_2_naming_the_key) {
    temp_dir dir;
    const auto file = dir.write_file("wsgate.json", R"({"limits": {"max_subscriptions": "many"}})");
    expect_config_error(gateway_process::run_to_completion({"--config", file.string()}),
                        "limits.max_subscriptions");
}

TEST(startup, invalid_environment_variable_fails_with_exit_2_naming_the_key) {
    expect_config_error(
        gateway_process::run_to_completion({}, {"WSGATE_LIMITS_MAX_MESSAGE_BYTES=10"}),
        "limits.max_message_bytes");
}

TEST(startup, kubernetes_service_variables_are_warned_about_and_the_gateway_starts) {
    // What Kubernetes injects into every pod when a Service is named wsgate.
    const std::vector<std::string> injected{
        "WSGATE_SERVICE_HOST=10.96.0.12", "WSGATE_SERVICE_PORT=8080",
        "WSGATE_PORT=tcp://10.96.0.12:8080", "WSGATE_PORT_8080_TCP_ADDR=10.96.0.12"};
    gateway_process gw({}, injected);

    EXPECT_EQ(http_client(gw.public_port()).get("/healthz").status, 200u);
    const std::string log = gw.log_text();
    for (const auto& entry : injected) {
        const std::string name = entry.substr(0, entry.find('='));
        const std::string line = " warning " + name + ": unknown environment variable, ignored\n";
        const auto at = log.find(line);
        EXPECT_NE(at, std::string::npos) << name << " not warned about:\n" << log;
        EXPECT_EQ(log.find(line, at + 1), std::string::npos) << name << " warned twice";
    }
}

/// Subscribes `client` to channels c0, c1, ... until refused; returns how many were accepted.
int subscriptions_accepted(ws_client& client, int at_most) {
    for (int i = 0; i < at_most; ++i) {
        const auto reply =
            client.request({{"type", "subscribe"}, {"channel", "c" + std::to_string(i)}});
        if (reply.value("type", "") != "ack") {
            EXPECT_EQ(reply.value("code", ""), "too_many_subscriptions") << reply.dump();
            return i;
        }
    }
    return at_most;
}

TEST(startup, config_file_values_apply_and_flags_override_them) {
    temp_dir dir;
    const auto file = dir.write_file(
        "wsgate.json",
        R"({"limits": {"max_subscriptions": 1}, "heartbeat": {"interval_ms": 1234}})");
    gateway_process from_file({"--config", file.string()});
    gateway_process overridden({"--config", file.string(), "--limits.max_subscriptions", "2"});
    ws_client first, second;

    EXPECT_EQ(first.connect(from_file.public_port())["heartbeat_ms"], 1234);
    EXPECT_EQ(subscriptions_accepted(first, 5), 1);
    second.connect(overridden.public_port());
    EXPECT_EQ(subscriptions_accepted(second, 5), 2);
}

}  // namespace
}  // namespace wsgate::test
