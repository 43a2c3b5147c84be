#include <wsgate/config/config.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

namespace {

using env_map = std::map<std::string, std::string>;
using nlohmann::json;
using wsgate::config_action;

const std::filesystem::path source_dir = WSGATE_SOURCE_DIR;

/// Loads a configuration that is expected to be valid and to run.
wsgate::config load(const std::vector<std::string>& args, const env_map& env = {}) {
    auto result = wsgate::load_config(args, env);
    EXPECT_EQ(result.action, config_action::run);
    return result.cfg;
}

/// The config_error message load_config() throws, or "(no error)".
std::string error_of(const std::vector<std::string>& args, const env_map& env = {}) {
    try {
        wsgate::load_config(args, env);
    } catch (const wsgate::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

/// Every field as JSON text, so that comparing two configurations shows what differs.
json describe_rules(const std::vector<wsgate::auth::channel_rule>& rules) {
    json out = json::array();
    for (const auto& r : rules)
        out.push_back({{"pattern", r.pattern},
                       {"subscribe", wsgate::auth::to_string(r.subscribe)},
                       {"publish", wsgate::auth::to_string(r.publish)},
                       {"check", r.check}});
    return out;
}

std::string describe(const wsgate::config& c) {
    auto endpoint = [](const wsgate::endpoint_config& e) {
        return e.host + ":" + std::to_string(e.port);
    };
    json j = {
        {"server",
         {{"listen", endpoint(c.server.listen)},
          {"separate_api", c.server.separate_api},
          {"api_listen", endpoint(c.server.api_listen)},
          {"ws_path", c.server.ws_path},
          {"instance_id", c.server.instance_id},
          {"allowed_origins", c.server.allowed_origins},
          {"trusted_proxies", c.server.trusted_proxies}}},
        {"log", {{"level", c.log.level}, {"format", c.log.format}}},
        {"auth",
         {{"api_keys", c.auth.api_keys},
          {"insecure_dev_user", c.auth.insecure_dev_user},
          {"anonymous", c.auth.anonymous},
          {"jwt",
           {{"algorithm", c.auth.jwt.algorithm},
            {"secret", c.auth.jwt.secret},
            {"public_key_pem", c.auth.jwt.public_key_pem},
            {"issuer", c.auth.jwt.issuer},
            {"audience", c.auth.jwt.audience},
            {"leeway_s", c.auth.jwt.leeway.count()},
            {"channels_claim", c.auth.jwt.channels_claim}}},
          {"subscribe_check",
           {{"url", c.auth.subscribe_check.url},
            {"secret", c.auth.subscribe_check.webhook.secret},
            {"timeout_ms", c.auth.subscribe_check.webhook.timeout.count()},
            {"cache_ms", c.auth.subscribe_check.cache.count()}}}}},
        {"channels", describe_rules(c.channels)},
        {"limits",
         {{"max_message_bytes", c.limits.max_message_bytes},
          {"max_queue_bytes", c.limits.max_queue_bytes},
          {"max_subscriptions", c.limits.max_subscriptions},
          {"max_channel_length", c.limits.max_channel_length},
          {"channel_chars", c.limits.channel_chars},
          {"max_body_bytes", c.limits.max_body_bytes},
          {"max_batch_events", c.limits.max_batch_events},
          {"max_connections", c.limits.max_connections},
          {"max_connections_per_ip", c.limits.max_connections_per_ip},
          {"message_rate", c.limits.message_rate},
          {"message_burst", c.limits.message_burst},
          {"publish_rate", c.limits.publish_rate},
          {"publish_burst", c.limits.publish_burst}}},
        {"timeouts",
         {{"handshake_ms", c.timeouts.handshake.count()},
          {"http_idle_ms", c.timeouts.http_idle.count()}}},
        {"websocket",
         {{"permessage_deflate", c.websocket.permessage_deflate},
          {"deflate_min_bytes", c.websocket.deflate_min_bytes}}},
        {"heartbeat", {{"interval_ms", c.heartbeat.interval.count()}}},
        {"shutdown",
         {{"drain_ms", c.shutdown.drain.count()},
          {"reconnect_max_ms", c.shutdown.reconnect_max.count()}}},
    };
    return j.dump(2);
}

/// describe() of the built-in defaults, with the instance id taken from `like`
/// (the default one is random).
std::string describe_defaults_like(const wsgate::config& like) {
    wsgate::config defaults;
    defaults.server.instance_id = like.server.instance_id;
    return describe(defaults);
}

/// A fresh directory under the system temp directory, removed with everything in it.
class temp_dir {
  public:
    temp_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "wsgate-config-test-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(), "mkdtemp");
        }
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    /// Writes `text` to the file `name` in this directory and returns its path.
    std::string write(const std::string& name, const std::string& text) const {
        auto file = path_ / name;
        std::ofstream(file) << text;
        return file.string();
    }

    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

/// Loads `text` as the --config file (plus `args`), returning the configuration.
wsgate::config load_file(const std::string& text, std::vector<std::string> args = {}) {
    temp_dir dir;
    args.insert(args.begin(), {"--config", dir.write("wsgate.json", text)});
    return load(args);
}

/// The error of loading `text` as the --config file.
std::string file_error_of(const std::string& text) {
    temp_dir dir;
    return error_of({"--config", dir.write("wsgate.json", text)});
}

/// The (key, default) pairs listed by config_help(), in order.
std::vector<std::pair<std::string, std::string>> help_defaults() {
    // Lines read "  --<key> VALUE   default: <shown>   env: <variable>".
    const std::string flag_start = "  --",
                      value_start = " VALUE   default: ", env_start = "   env: ";
    std::vector<std::pair<std::string, std::string>> keys;
    std::istringstream help(wsgate::config_help());
    for (std::string line; std::getline(help, line);) {
        auto value_at = line.find(value_start);
        auto env_at = line.rfind(env_start);
        if (line.rfind(flag_start, 0) != 0 || value_at == std::string::npos ||
            env_at == std::string::npos) {
            continue;
        }
        auto key = line.substr(flag_start.size(), value_at - flag_start.size());
        auto shown =
            line.substr(value_at + value_start.size(), env_at - value_at - value_start.size());
        keys.emplace_back(key, shown == "\"\"" ? "" : shown);
    }
    return keys;
}

std::set<std::string> help_keys() {
    std::set<std::string> keys;
    for (const auto& [key, shown] : help_defaults()) keys.insert(key);
    return keys;
}

/// The dotted keys of the leaves of a nested JSON object.
void collect_keys(const json& object, const std::string& prefix, std::set<std::string>& keys) {
    for (const auto& [name, member] : object.items()) {
        std::string key = prefix.empty() ? name : prefix + "." + name;
        // A section nests keys; an empty object is the value of a key (services).
        if (member.is_object() && !member.empty()) {
            collect_keys(member, key, keys);
        } else {
            keys.insert(key);
        }
    }
}

/// True for 8 lowercase hex digits.
bool is_random_instance_id(const std::string& id) {
    return id.size() == 8 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string range_error(const std::string& key, const std::string& range, const std::string& got) {
    return key + ": must be an integer between " + range + " (got " + got + ")";
}

// ---- defaults and shipped files ----

TEST(config, defaults_are_the_documented_values) {
    auto c = load({});
    EXPECT_EQ(c.server.listen.host, "0.0.0.0");
    EXPECT_EQ(c.server.listen.port, 8080);
    EXPECT_FALSE(c.server.separate_api);
    EXPECT_EQ(c.server.ws_path, "/ws");
    EXPECT_EQ(c.log.level, "info");
    EXPECT_EQ(c.log.format, "text");
    EXPECT_TRUE(c.auth.api_keys.empty());
    EXPECT_FALSE(c.auth.insecure_dev_user);
    EXPECT_EQ(c.limits.max_message_bytes, 65536u);
    EXPECT_EQ(c.limits.max_queue_bytes, 2097152u);
    EXPECT_EQ(c.limits.max_subscriptions, 128u);
    EXPECT_EQ(c.limits.max_channel_length, 128u);
    EXPECT_EQ(c.limits.channel_chars, "-_.:@/=");
    EXPECT_EQ(c.limits.max_body_bytes, 1048576u);
    EXPECT_EQ(c.limits.max_batch_events, 1000u);
    EXPECT_EQ(c.timeouts.handshake.count(), 5000);
    EXPECT_EQ(c.timeouts.welcome.count(), 5000);
    EXPECT_EQ(c.timeouts.close.count(), 5000);
    EXPECT_EQ(c.limits.json_max_depth, 64u);
    EXPECT_EQ(c.timeouts.http_idle.count(), 30000);
    EXPECT_EQ(c.heartbeat.interval.count(), 25000);
    EXPECT_EQ(c.shutdown.drain.count(), 10000);
    EXPECT_EQ(c.shutdown.reconnect_max.count(), 5000);
}

TEST(config, instance_id_defaults_to_eight_random_hex_digits) {
    auto first = load({}).server.instance_id;
    auto second = load({"--server.instance_id="}).server.instance_id;
    EXPECT_TRUE(is_random_instance_id(first)) << first;
    EXPECT_TRUE(is_random_instance_id(second)) << second;
    EXPECT_NE(first, second);
}

TEST(config, shipped_config_file_loads_to_exactly_the_defaults) {
    auto path = (source_dir / "config" / "wsgate.json").string();
    auto c = load({"--config", path});
    EXPECT_TRUE(is_random_instance_id(c.server.instance_id)) << c.server.instance_id;
    EXPECT_EQ(describe(c), describe_defaults_like(c));
}

TEST(config, shipped_config_file_spells_out_every_key) {
    std::ifstream file(source_dir / "config" / "wsgate.json");
    std::set<std::string> keys;
    collect_keys(json::parse(file), "", keys);
    EXPECT_EQ(keys, help_keys());
}

TEST(config, help_lists_every_key_of_the_documentation_table) {
    std::ifstream doc(source_dir / "docs" / "configuration.md");
    std::set<std::string> documented;  // from the rows "| `<key>` | <default> | <meaning> |"
    for (std::string line; std::getline(doc, line);) {
        auto end = line.find("` |");
        if (line.rfind("| `", 0) == 0 && end != std::string::npos) {
            documented.insert(line.substr(3, end - 3));
        }
    }
    EXPECT_FALSE(documented.empty());
    EXPECT_EQ(documented, help_keys());
}

TEST(config, defaults_shown_by_help_load_to_the_defaults) {
    std::vector<std::string> args;
    for (const auto& [key, shown] : help_defaults()) args.push_back("--" + key + "=" + shown);
    ASSERT_EQ(args.size(), help_keys().size());
    auto c = load(args);
    EXPECT_EQ(describe(c), describe_defaults_like(c));
}

TEST(config, help_shows_each_flag_with_its_default_and_variable) {
    auto help = wsgate::config_help();
    EXPECT_EQ(help.rfind("usage: wsgate ", 0), 0u);
    EXPECT_NE(help.find("--config PATH"), std::string::npos);
    EXPECT_NE(help.find("--version"), std::string::npos);
    EXPECT_NE(help.find("  --limits.max_message_bytes VALUE   default: 65536   "
                        "env: WSGATE_LIMITS_MAX_MESSAGE_BYTES\n"),
              std::string::npos);
    EXPECT_NE(
        help.find("  --server.api_listen VALUE   default: \"\"   env: WSGATE_SERVER_API_LISTEN"),
        std::string::npos);
}

// ---- layering ----

TEST(config, file_overrides_defaults_with_keys_nested_by_their_dots) {
    auto c = load_file(R"({"limits": {"max_message_bytes": 1000, "channel_chars": "-"},
                           "log": {"level": "debug"}, "auth": {"api_keys": ["k1", "k2"]}})");
    EXPECT_EQ(c.limits.max_message_bytes, 1000u);
    EXPECT_EQ(c.limits.channel_chars, "-");
    EXPECT_EQ(c.log.level, "debug");
    EXPECT_EQ(c.auth.api_keys, (std::vector<std::string>{"k1", "k2"}));
    EXPECT_EQ(c.limits.max_queue_bytes, 2097152u);
}

TEST(config, empty_file_object_keeps_the_defaults) {
    auto c = load_file("{}");
    EXPECT_EQ(describe(c), describe_defaults_like(c));
}

TEST(config, env_overrides_defaults) {
    auto c = load({}, {{"WSGATE_LIMITS_MAX_SUBSCRIPTIONS", "7"}, {"WSGATE_LOG_FORMAT", "json"}});
    EXPECT_EQ(c.limits.max_subscriptions, 7u);
    EXPECT_EQ(c.log.format, "json");
}

TEST(config, env_overrides_file) {
    temp_dir dir;
    auto path = dir.write("c.json", R"({"log": {"level": "debug", "format": "json"}})");
    auto c = load({"--config", path}, {{"WSGATE_LOG_LEVEL", "warn"}});
    EXPECT_EQ(c.log.level, "warn");
    EXPECT_EQ(c.log.format, "json");
}

TEST(config, flag_overrides_env) {
    auto c = load({"--log.level", "error"},
                  {{"WSGATE_LOG_LEVEL", "warn"}, {"WSGATE_SHUTDOWN_DRAIN_MS", "0"}});
    EXPECT_EQ(c.log.level, "error");
    EXPECT_EQ(c.shutdown.drain.count(), 0);
}

TEST(config, flag_overrides_file) {
    temp_dir dir;
    auto path = dir.write("c.json", R"({"heartbeat": {"interval_ms": 1000}})");
    auto c = load({"--heartbeat.interval_ms=2000", "--config=" + path});
    EXPECT_EQ(c.heartbeat.interval.count(), 2000);
}

TEST(config, flags_take_a_separate_value_or_one_after_an_equals_sign) {
    auto c =
        load({"--server.ws_path", "/socket", "--timeouts.handshake_ms=250", "--auth.api_keys=a=b"});
    EXPECT_EQ(c.server.ws_path, "/socket");
    EXPECT_EQ(c.timeouts.handshake.count(), 250);
    EXPECT_EQ(c.auth.api_keys, std::vector<std::string>{"a=b"});
}

TEST(config, later_flag_overrides_earlier_one) {
    EXPECT_EQ(load({"--log.level=debug", "--log.level=trace"}).log.level, "trace");
}

TEST(config, environment_variables_without_the_prefix_are_ignored) {
    auto c = load({}, {{"HOME", "/root"}, {"WSGATEX", "1"}, {"wsgate_log_level", "x"}});
    EXPECT_EQ(c.log.level, "info");
}

// ---- unknown keys and bad command lines ----

TEST(config, unknown_key_in_file_is_an_error) {
    EXPECT_EQ(file_error_of(R"({"limits": {"max_messages": 5}})"),
              "limits.max_messages: unknown key");
    EXPECT_EQ(file_error_of(R"({"listen": "0.0.0.0:1"})"), "listen: unknown key");
}

TEST(config, unknown_section_in_file_is_an_error) {
    EXPECT_EQ(file_error_of(R"({"database": {"url": "x"}})"), "database: unknown key");
}

TEST(config, dotted_names_in_file_are_not_accepted) {
    EXPECT_EQ(file_error_of(R"({"log.level": "debug"})"),
              "log.level: unknown key (keys nest by their dots)");
}

TEST(config, section_in_file_must_be_an_object) {
    EXPECT_EQ(file_error_of(R"({"limits": 5})"), "limits: must be an object (got 5)");
}

TEST(config, file_must_hold_a_json_object) {
    temp_dir dir;
    auto path = dir.write("c.json", "[1, 2]");
    EXPECT_EQ(error_of({"--config", path}), path + ": must be a JSON object");
}

TEST(config, unknown_environment_variable_is_only_a_warning_naming_it) {
    // Kubernetes gives every pod WSGATE_SERVICE_HOST, WSGATE_PORT, ... for a Service named
    // wsgate: such variables must not stop the start.
    const env_map env{{"WSGATE_LOG_COLOUR", "red"},
                      {"WSGATE_SERVICE_HOST", "10.96.0.12"},
                      {"WSGATE_PORT_8080_TCP_ADDR", "10.96.0.12"},
                      {"WSGATE_LIMITS_MAX_SUBSCRIPTIONS", "7"}};
    EXPECT_EQ(error_of({}, env), "(no error)");
    const auto result = wsgate::load_config({}, env);
    EXPECT_EQ(result.cfg.limits.max_subscriptions, 7u) << "known variables still apply";
    EXPECT_EQ(result.warnings,
              (std::vector<std::string>{
                  "WSGATE_LOG_COLOUR: unknown environment variable, ignored",
                  "WSGATE_PORT_8080_TCP_ADDR: unknown environment variable, ignored",
                  "WSGATE_SERVICE_HOST: unknown environment variable, ignored"}));
    EXPECT_TRUE(wsgate::load_config({}, {{"WSGATE_LOG_LEVEL", "info"}}).warnings.empty());
    // A known variable with a bad value stays fatal, and so do unknown keys and flags.
    EXPECT_EQ(error_of({}, {{"WSGATE_SERVICE_HOST", "x"}, {"WSGATE_LOG_LEVEL", "loud"}}).rfind(
                  "log.level: must be one of", 0),
              0u);
}

TEST(config, unknown_flag_is_an_error) {
    EXPECT_EQ(error_of({"--log.colour", "red"}), "--log.colour: unknown option");
    EXPECT_EQ(error_of({"--log.colour=red"}), "--log.colour: unknown option");
    EXPECT_EQ(error_of({"-v"}), "-v: unknown option");
    EXPECT_EQ(error_of({"--"}), "--: unknown option");
}

TEST(config, positional_argument_is_an_error) {
    EXPECT_EQ(error_of({"wsgate.json"}), "wsgate.json: unexpected argument");
}

TEST(config, flag_without_value_is_an_error) {
    EXPECT_EQ(error_of({"--server.listen"}), "--server.listen: needs a value");
    EXPECT_EQ(error_of({"--config"}), "--config: needs a value");
}

TEST(config, config_flag_may_be_given_only_once) {
    temp_dir dir;
    auto path = dir.write("c.json", "{}");
    EXPECT_EQ(error_of({"--config", path, "--config", path}), "--config: may be given only once");
}

TEST(config, unreadable_file_is_an_error) {
    temp_dir dir;
    auto missing = (dir.path() / "missing.json").string();
    EXPECT_EQ(error_of({"--config", missing}),
              "--config: cannot read " + missing + ": No such file or directory");
    EXPECT_EQ(error_of({"--config", dir.path().string()}),
              "--config: cannot read " + dir.path().string() + ": Is a directory");
}

TEST(config, invalid_json_is_an_error_naming_the_file) {
    temp_dir dir;
    auto path = dir.write("c.json", R"({"log": {"level": "debug",}})");
    auto message = error_of({"--config", path});
    EXPECT_EQ(message.rfind(path + ": invalid JSON: parse error at line 1", 0), 0u) << message;
}

// Found by tests/fuzz/config_fuzz: nlohmann throws out_of_range (not parse_error) for a number
// beyond a double; it escaped load_config() and aborted wsgate instead of exiting 2.
TEST(config, number_too_large_for_json_is_an_error_naming_the_file) {
    temp_dir dir;
    auto path = dir.write("c.json", R"({"limits": {"max_message_bytes": 1e999}})");
    EXPECT_EQ(error_of({"--config", path}),
              path + ": invalid JSON: number overflow parsing '1e999'");
}

TEST(config, help_and_version_win_over_everything_else) {
    EXPECT_EQ(wsgate::load_config({"--help"}, {}).action, config_action::help);
    EXPECT_EQ(wsgate::load_config({"-h"}, {}).action, config_action::help);
    EXPECT_EQ(wsgate::load_config({"--version"}, {}).action, config_action::version);
    auto result = wsgate::load_config({"--bogus", "--limits.max_subscriptions=0", "--version"},
                                      {{"WSGATE_BOGUS", "1"}});
    EXPECT_EQ(result.action, config_action::version);
    EXPECT_EQ(wsgate::load_config({"--config", "/nonexistent", "--help"}, {}).action,
              config_action::help);
}

// ---- types and ranges ----

TEST(config, out_of_range_value_names_the_key_and_the_range) {
    EXPECT_EQ(error_of({}, {{"WSGATE_LIMITS_MAX_MESSAGE_BYTES", "10"}}),
              "limits.max_message_bytes: must be an integer between 256 and 67108864 (got \"10\")");
    EXPECT_EQ(error_of({"--limits.max_message_bytes", "10"}),
              error_of({}, {{"WSGATE_LIMITS_MAX_MESSAGE_BYTES", "10"}}));
    EXPECT_EQ(file_error_of(R"({"limits": {"max_message_bytes": 10}})"),
              range_error("limits.max_message_bytes", "256 and 67108864", "10"));
}

TEST(config, integer_ranges_include_both_bounds) {
    struct bounds {
        std::string key, min, max, below, above;
        std::vector<std::string> with;  ///< other keys the bounds need (max_queue_bytes' rule)
    };
    const std::vector<std::string> small_publish = {"--limits.max_body_bytes", "1024",
                                                    "--limits.max_batch_events", "1"};
    const std::vector<std::string> big_queue = {"--limits.max_queue_bytes", "1073741824"};
    const std::vector<bounds> all = {
        {"limits.max_message_bytes", "256", "67108864", "255", "67108865", {}},
        {"limits.max_queue_bytes", "4096", "1073741824", "4095", "1073741825", small_publish},
        {"limits.max_subscriptions", "1", "100000", "0", "100001", {}},
        {"limits.max_channel_length", "1", "1024", "0", "1025", {}},
        {"limits.max_body_bytes", "1024", "268435456", "1023", "268435457", big_queue},
        {"limits.max_batch_events", "1", "100000", "0", "100001", big_queue},
        {"limits.json_max_depth", "1", "1000", "0", "1001", {}},
        {"timeouts.handshake_ms", "100", "600000", "99", "600001", {}},
        {"timeouts.welcome_ms", "100", "600000", "99", "600001", {}},
        {"timeouts.close_ms", "100", "600000", "99", "600001", {}},
        {"timeouts.http_idle_ms", "100", "3600000", "99", "3600001", {}},
        {"heartbeat.interval_ms", "100", "3600000", "99", "3600001", {}},
        {"shutdown.drain_ms", "0", "600000", "", "600001", {}},
        {"shutdown.reconnect_max_ms", "0", "3600000", "", "3600001", {}},
    };
    for (const auto& b : all) {
        SCOPED_TRACE(b.key);
        auto range = b.min + " and " + b.max;
        auto args = [&b](const std::string& value) {
            std::vector<std::string> a{"--" + b.key, value};
            a.insert(a.end(), b.with.begin(), b.with.end());
            return a;
        };
        EXPECT_EQ(error_of(args(b.min)), "(no error)");
        EXPECT_EQ(error_of(args(b.max)), "(no error)");
        EXPECT_EQ(error_of(args(b.below)), range_error(b.key, range, '"' + b.below + '"'));
        EXPECT_EQ(error_of(args(b.above)), range_error(b.key, range, '"' + b.above + '"'));
    }
}

TEST(config, integers_as_text_must_be_plain_decimal_digits) {
    for (const std::string& text :
         std::vector<std::string>{"+500", "-500", " 500", "500 ", "500x", "0x500", "5e3", "",
                                  "99999999999999999999999"}) {
        EXPECT_EQ(error_of({"--limits.max_message_bytes=" + text}),
                  range_error("limits.max_message_bytes", "256 and 67108864", '"' + text + '"'));
    }
    EXPECT_EQ(load({"--limits.max_message_bytes=000500"}).limits.max_message_bytes, 500u);
}

TEST(config, integers_in_file_must_be_json_integers) {
    auto range = "256 and 67108864";
    auto key = "limits.max_message_bytes";
    EXPECT_EQ(file_error_of(R"({"limits": {"max_message_bytes": "500"}})"),
              range_error(key, range, "\"500\""));
    EXPECT_EQ(file_error_of(R"({"limits": {"max_message_bytes": 500.5}})"),
              range_error(key, range, "500.5"));
    EXPECT_EQ(file_error_of(R"({"limits": {"max_message_bytes": 500.0}})"),
              range_error(key, range, "500.0"));
    EXPECT_EQ(file_error_of(R"({"limits": {"max_message_bytes": -500}})"),
              range_error(key, range, "-500"));
    EXPECT_EQ(file_error_of(R"({"limits": {"max_message_bytes": null}})"),
              range_error(key, range, "null"));
}

TEST(config, wrong_json_type_names_the_key_and_the_value) {
    EXPECT_EQ(file_error_of(R"({"log": {"level": 3}})"),
              "log.level: must be one of trace, debug, info, warn, error, critical, off (got 3)");
    EXPECT_EQ(file_error_of(R"({"auth": {"insecure_dev_user": "true"}})"),
              "auth.insecure_dev_user: must be true or false (got \"true\")");
    EXPECT_EQ(file_error_of(R"({"auth": {"api_keys": "k1,k2"}})"),
              "auth.api_keys: must be a list of non-empty keys of at most 256 characters "
              "without whitespace (got \"k1,k2\")");
    EXPECT_EQ(file_error_of(R"({"auth": {"api_keys": ["k1", 2]}})"),
              "auth.api_keys: must be a list of non-empty keys of at most 256 characters "
              "without whitespace (got [\"k1\",2])");
    EXPECT_EQ(file_error_of(R"({"server": {"listen": {"host": "a"}}})")
                  .rfind("server.listen: must be host:port", 0),
              0u);
}

TEST(config, host_and_port_are_parsed) {
    auto c = load({"--server.listen=127.0.0.1:0", "--server.api_listen", "[::1]:9001"});
    EXPECT_EQ(c.server.listen.host, "127.0.0.1");
    EXPECT_EQ(c.server.listen.port, 0);
    EXPECT_TRUE(c.server.separate_api);
    EXPECT_EQ(c.server.api_listen.host, "::1");
    EXPECT_EQ(c.server.api_listen.port, 9001);
    c = load({"--server.listen=localhost:65535"});
    EXPECT_EQ(c.server.listen.host, "localhost");
    EXPECT_EQ(c.server.listen.port, 65535);
}

TEST(config, bad_host_and_port_is_an_error) {
    for (const std::string& text :
         std::vector<std::string>{"127.0.0.1", ":8080", "127.0.0.1:", "example.com:80", "1.2.3:80",
                                  "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:80x", "::1:80", "[::1]",
                                  "[]:80", "[1.2.3.4]:80", "[::1:80", " 1.2.3.4:80", ""}) {
        EXPECT_EQ(error_of({"--server.listen", text}),
                  "server.listen: must be host:port with an IPv4 address, localhost or "
                  "[IPv6 address] as host and a port 0..65535 (got \"" +
                      text + "\")");
    }
}

TEST(config, empty_api_listen_means_no_separate_listener) {
    temp_dir dir;
    auto path = dir.write("c.json", R"({"server": {"api_listen": "127.0.0.1:8081"}})");
    EXPECT_TRUE(load({"--config", path}).server.separate_api);
    auto c = load({"--config", path}, {{"WSGATE_SERVER_API_LISTEN", ""}});
    EXPECT_FALSE(c.server.separate_api);
    EXPECT_EQ(c.server.api_listen.host, "");
    EXPECT_EQ(error_of({"--server.api_listen=127.0.0.1"}).rfind("server.api_listen: must be", 0),
              0u);
}

TEST(config, ws_path_must_be_an_absolute_path_without_query) {
    EXPECT_EQ(load({"--server.ws_path=/a/b-c_d.e"}).server.ws_path, "/a/b-c_d.e");
    EXPECT_EQ(error_of({"--server.ws_path=/" + std::string(255, 'a')}), "(no error)");
    for (const std::string& text : std::vector<std::string>{"", "ws", "/a b", "/ws?x=1", "/ws#top",
                                                            "/a\tb", "/" + std::string(256, 'a')}) {
        EXPECT_EQ(error_of({"--server.ws_path", text}).rfind("server.ws_path: must be a path", 0),
                  0u)
            << text;
    }
}

TEST(config, instance_id_is_kept_when_given_and_validated) {
    EXPECT_EQ(load({}, {{"WSGATE_SERVER_INSTANCE_ID", "gw_1"}}).server.instance_id, "gw_1");
    EXPECT_EQ(load({"--server.instance_id", std::string(32, 'x')}).server.instance_id,
              std::string(32, 'x'));
    for (const std::string& text :
         std::vector<std::string>{"gw-1", "gw 1", "é", std::string(33, 'x')}) {
        EXPECT_EQ(error_of({"--server.instance_id", text}).rfind("server.instance_id: must be", 0),
                  0u)
            << text;
    }
}

TEST(config, log_level_and_format_accept_only_known_names) {
    for (auto level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
        EXPECT_EQ(load({"--log.level", level}).log.level, level);
    }
    EXPECT_EQ(error_of({"--log.level", "INFO"}),
              "log.level: must be one of trace, debug, info, warn, error, critical, off "
              "(got \"INFO\")");
    EXPECT_EQ(error_of({"--log.format", "xml"}),
              "log.format: must be one of text, json (got \"xml\")");
}

TEST(config, api_keys_are_comma_separated_outside_json) {
    using keys = std::vector<std::string>;
    EXPECT_EQ(load({"--auth.api_keys", "k1,k2,k3"}).auth.api_keys, (keys{"k1", "k2", "k3"}));
    EXPECT_EQ(load({}, {{"WSGATE_AUTH_API_KEYS", "only"}}).auth.api_keys, keys{"only"});
    EXPECT_EQ(load_file(R"({"auth": {"api_keys": ["k1"]}})", {"--auth.api_keys="}).auth.api_keys,
              keys{});
    EXPECT_EQ(load({"--auth.api_keys", std::string(256, 'k')}).auth.api_keys.size(), 1u);
    for (const std::string& text : std::vector<std::string>{"k1,,k2", "k1,", ",k1", "k1, k2",
                                                            "k\t1", std::string(257, 'k')}) {
        EXPECT_EQ(error_of({"--auth.api_keys", text}).rfind("auth.api_keys: must be a list", 0), 0u)
            << text;
    }
    EXPECT_EQ(file_error_of(R"({"auth": {"api_keys": [""]}})").rfind("auth.api_keys: must be", 0),
              0u);
}

TEST(config, booleans_accept_true_false_one_zero_yes_no_as_text) {
    for (auto text : {"true", "1", "yes"}) {
        EXPECT_TRUE(load({"--auth.insecure_dev_user", text}).auth.insecure_dev_user) << text;
    }
    for (auto text : {"false", "0", "no"}) {
        EXPECT_FALSE(load({}, {{"WSGATE_AUTH_INSECURE_DEV_USER", text}}).auth.insecure_dev_user)
            << text;
    }
    EXPECT_TRUE(load_file(R"({"auth": {"insecure_dev_user": true}})").auth.insecure_dev_user);
    EXPECT_EQ(error_of({"--auth.insecure_dev_user=maybe"}),
              "auth.insecure_dev_user: must be true or false (also 1/0, yes/no) (got \"maybe\")");
    EXPECT_EQ(file_error_of(R"({"auth": {"insecure_dev_user": 1}})"),
              "auth.insecure_dev_user: must be true or false (got 1)");
}

TEST(config, channel_chars_are_printable_ascii_without_space_quote_or_backslash) {
    EXPECT_EQ(load({"--limits.channel_chars="}).limits.channel_chars, "");
    EXPECT_EQ(load({"--limits.channel_chars=!#$%&'()*+,-./:;<=>?@[]^_`{|}~"}).limits.channel_chars,
              "!#$%&'()*+,-./:;<=>?@[]^_`{|}~");
    EXPECT_EQ(error_of({"--limits.channel_chars=" + std::string(64, '-')}), "(no error)");
    for (const std::string& text :
         std::vector<std::string>{"- ", "-\"", "-\\", "-\x7f", "-\xc3\xa9", std::string(65, '-')}) {
        EXPECT_EQ(error_of({"--limits.channel_chars", text})
                      .rfind("limits.channel_chars: must be at most 64 printable ASCII", 0),
                  0u)
            << text;
    }
}

TEST(config, durations_are_read_in_milliseconds) {
    auto c = load({"--timeouts.http_idle_ms=1500", "--shutdown.reconnect_max_ms=0"});
    EXPECT_EQ(c.timeouts.http_idle, std::chrono::milliseconds(1500));
    EXPECT_EQ(c.shutdown.reconnect_max, std::chrono::milliseconds(0));
}

TEST(config, invalid_utf8_in_a_value_is_reported_not_crashed_on) {
    auto message = error_of({"--log.level", "\xff"});
    EXPECT_EQ(message.rfind("log.level: must be one of", 0), 0u) << message;
}

// ---- the process environment ----

TEST(config, process_environment_yields_only_wsgate_variables) {
    ASSERT_EQ(setenv("WSGATE_CONFIG_TEST_VARIABLE", "a=b", 1), 0);
    ASSERT_EQ(setenv("NOT_WSGATE_CONFIG_TEST_VARIABLE", "x", 1), 0);
    auto env = wsgate::wsgate_environment();
    unsetenv("WSGATE_CONFIG_TEST_VARIABLE");
    unsetenv("NOT_WSGATE_CONFIG_TEST_VARIABLE");
    EXPECT_EQ(env["WSGATE_CONFIG_TEST_VARIABLE"], "a=b");
    for (const auto& [name, text] : env) EXPECT_EQ(name.rfind("WSGATE_", 0), 0u) << name;
}

}  // namespace

TEST(config, services_are_parsed_and_validated_from_file_and_flags) {
    auto c = load({"--services",
                   R"({"chatbot":{"transport":"http","url":"http://127.0.0.1:9000/chat",)"
                   R"("secret":"0123456789abcdef","timeout_ms":1500,"allow":"users"}})"});
    ASSERT_EQ(c.services.size(), 1u);
    const auto& s = c.services.at("chatbot");
    EXPECT_EQ(s.host, "127.0.0.1");
    EXPECT_EQ(s.port, 9000);
    EXPECT_EQ(s.path, "/chat");
    EXPECT_EQ(s.timeout, std::chrono::milliseconds(1500));
    EXPECT_TRUE(s.users_only);
    EXPECT_EQ(s.max_bytes, 65536u);
}

TEST(config, bad_services_name_the_key_at_fault) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"Bad Name":{}})", "services.Bad Name:"},
        {R"({"bot":{"transport":"carrier-pigeon","url":"http://h/","secret":"0123456789abcdef"}})",
         "services.bot.transport:"},
        {R"({"bot":{"transport":"http","url":"ftp://h/","secret":"0123456789abcdef"}})",
         "services.bot.url:"},
        {R"({"bot":{"transport":"http","url":"http://h/","secret":"short"}})",
         "services.bot.secret:"},
        {R"({"bot":{"transport":"http","url":"http://h/"}})", "services.bot.secret: is required"},
        {R"({"bot":{"transport":"http","url":"http://h/","secret":"0123456789abcdef","x":1}})",
         "services.bot.x: unknown key"},
        {"not json", "services:"},
        {R"({"bot":{"transport":"websocket","url":"http://h/","secret":"0123456789abcdef"}})",
         "services.bot.url: must be a ws://"},
        {R"({"bot":{"transport":"http","url":"ws://h/","secret":"0123456789abcdef"}})",
         "services.bot.url: must be an http://"},
    };
    for (const auto& [text, expected] : cases) {
        try {
            load({"--services", text});
            ADD_FAILURE() << "accepted " << text;
        } catch (const wsgate::config_error& e) {
            EXPECT_EQ(std::string(e.what()).rfind(expected, 0), 0u) << e.what();
        }
    }
}

TEST(config, websocket_services_take_ws_urls) {
    auto c = load({"--services", R"({"bot":{"transport":"websocket","url":"ws://10.0.0.7:81/up",)"
                                 R"("secret":"0123456789abcdef"}})"});
    const auto& s = c.services.at("bot");
    EXPECT_EQ(s.transport, "websocket");
    EXPECT_EQ(s.host, "10.0.0.7");
    EXPECT_EQ(s.port, 81);
    EXPECT_EQ(s.path, "/up");
}

TEST(config, service_urls_take_ipv6_literals_in_brackets) {
    auto c = load({"--services",
                   R"({"web":{"transport":"http","url":"http://[::1]:9000/chat",)"
                   R"("secret":"0123456789abcdef"},)"
                   R"("sock":{"transport":"websocket","url":"ws://[fd00::7]/x",)"
                   R"("secret":"0123456789abcdef"}})",
                   "--auth.subscribe_check.url", "http://[::1]:9001/check",
                   "--auth.subscribe_check.secret", "0123456789abcdef"});
    const auto& web = c.services.at("web");
    EXPECT_EQ(web.host, "::1");
    EXPECT_EQ(web.port, 9000);
    EXPECT_EQ(web.path, "/chat");
    const auto& sock = c.services.at("sock");
    EXPECT_EQ(sock.host, "fd00::7");
    EXPECT_EQ(sock.port, 80);
    EXPECT_EQ(sock.path, "/x");
    EXPECT_EQ(c.auth.subscribe_check.webhook.host, "::1");
    EXPECT_EQ(c.auth.subscribe_check.webhook.port, 9001);
    for (const char* url : {"http://::1:9000/chat", "http://[::1/chat", "http://[::1]:/chat",
                            "http://[nope]:9000/", "http://[::1]x/"}) {
        const std::string services =
            std::string(R"({"web":{"transport":"http","secret":"0123456789abcdef","url":")") +
            url + "\"}}";
        EXPECT_EQ(error_of({"--services", services}).rfind("services.web.url: must be", 0), 0u)
            << url;
    }
}

TEST(config, websocket_services_have_their_own_max_connections_default_and_range) {
    const auto service = [](const std::string& transport, const std::string& extra) {
        return R"({"s":{"transport":")" + transport + R"(","url":")" +
               (transport == "http" ? "http" : "ws") +
               R"(://h/","secret":"0123456789abcdef")" + extra + "}}";
    };
    EXPECT_EQ(load({"--services", service("http", "")}).services.at("s").max_connections, 16u);
    EXPECT_EQ(load({"--services", service("websocket", "")}).services.at("s").max_connections,
              1024u);
    EXPECT_EQ(load({"--services", service("websocket", R"(,"max_connections":50000)")})
                  .services.at("s")
                  .max_connections,
              50000u);
    EXPECT_EQ(error_of({"--services", service("http", R"(,"max_connections":50000)")}),
              "services.s.max_connections: must be an integer between 1 and 1024 (got 50000)");
    EXPECT_EQ(error_of({"--services", service("websocket", R"(,"max_connections":0)")}),
              "services.s.max_connections: must be an integer between 1 and 1000000 (got 0)");
}

TEST(config, queue_services_need_redis_and_nothing_else) {
    const std::string queue = R"({"bot":{"transport":"queue"}})";
    auto c = load({"--services", queue, "--redis.url", "redis://127.0.0.1:6379"});
    EXPECT_EQ(c.services.at("bot").transport, "queue");
    try {
        load({"--services", queue});
        ADD_FAILURE() << "a queue without Redis was accepted";
    } catch (const wsgate::config_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("services.bot.transport: queue needs redis.url", 0),
                  0u)
            << e.what();
    }
}

TEST(config, origins_and_trusted_proxies_are_validated_lists) {
    auto c = load({"--server.allowed_origins=https://app.example.com,https://*.example.org",
                   "--server.trusted_proxies=10.0.0.0/8,::1,192.168.1.7"});
    EXPECT_EQ(c.server.allowed_origins,
              (std::vector<std::string>{"https://app.example.com", "https://*.example.org"}));
    EXPECT_EQ(c.server.trusted_proxies.size(), 3u);
    EXPECT_EQ(error_of({"--server.allowed_origins=app.example.com"}).rfind(
                  "server.allowed_origins: must be a list of origins", 0),
              0u);
    EXPECT_EQ(error_of({"--server.trusted_proxies=10.0.0.0/33"}).rfind(
                  "server.trusted_proxies: must be a list of IP addresses or CIDR ranges", 0),
              0u);
}

TEST(config, rate_limits_are_read_as_integers) {
    auto c = load({"--limits.message_rate=5", "--limits.message_burst=7",
                   "--limits.publish_rate=50", "--limits.max_connections_per_ip=0"});
    EXPECT_EQ(c.limits.message_rate, 5);
    EXPECT_EQ(c.limits.message_burst, 7);
    EXPECT_EQ(c.limits.publish_rate, 50);
    EXPECT_EQ(c.limits.max_connections_per_ip, 0u);
    EXPECT_EQ(error_of({"--limits.message_rate=0"}).rfind("limits.message_rate: must be", 0), 0u);
}

// An event at the REST body limit used to be accepted with 202 and then close every
// uncompressed subscriber: the queue bound equalled the body limit and the frame header tipped
// it over. A queue that cannot hold what one accepted publish makes is refused at start.
TEST(config, queue_bound_must_hold_everything_one_accepted_publish_makes) {
    // Defaults: 1 MiB bodies, 1000 events a batch, 128 bytes of frame each.
    EXPECT_EQ(error_of({"--limits.max_queue_bytes", "1048576"}),
              "limits.max_queue_bytes: must be at least 1176576 (limits.max_body_bytes, plus 128 "
              "bytes of frame for each of limits.max_batch_events), or a publish the API accepts "
              "could close every client that receives it; got 1048576");
    EXPECT_EQ(error_of({"--limits.max_queue_bytes", "1176576"}), "(no error)");
    EXPECT_EQ(error_of({"--limits.max_queue_bytes", "1176575"}).substr(0, 48),
              "limits.max_queue_bytes: must be at least 1176576");
    // A smaller body limit makes room for a smaller queue.
    EXPECT_EQ(error_of({"--limits.max_queue_bytes", "300000", "--limits.max_body_bytes",
                        "65536", "--limits.max_batch_events", "100"}),
              "(no error)");
}
