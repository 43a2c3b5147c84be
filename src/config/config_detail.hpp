#pragma once
// Internal to src/config: the pieces load_config() is made of. config_value: one value for one
// key and its conversions; config_checks.cpp: checks of values and across keys;
// config_options.cpp: the table of keys; config.cpp: the layers (file, environment, flags).

#include <wsgate/config/config.hpp>

#include <nlohmann/json.hpp>

#include <wsgate/json/json_reader.hpp>
#include <wsgate/support/decimal.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::config_detail {

using nlohmann::json;
using std::chrono::milliseconds;

inline constexpr std::string_view env_prefix = "WSGATE_";
/// How deeply a configuration file (or a JSON-valued key) may nest: far more than any key needs.
inline constexpr std::size_t max_file_depth = 64;

/// One value for one key, from the JSON file or as text from the environment or a flag.
/// Its accessors convert and validate it, and throw config_error naming the key otherwise.
class value {
  public:
    value(std::string key, json raw, bool is_text)
        : key_(std::move(key)), raw_(std::move(raw)), is_text_(is_text) {}

    /// A non-negative integer in [min, max]: a JSON integer, or plain decimal digits as text.
    std::uint64_t integer(std::uint64_t min, std::uint64_t max) const {
        std::optional<std::uint64_t> number;
        if (is_text_) {
            number = parse_decimal(raw_.get_ref<const std::string&>());
        } else if (raw_.is_number_unsigned()) {
            number = raw_.get<std::uint64_t>();
        }
        if (!number || *number < min || *number > max) {
            fail("an integer between " + std::to_string(min) + " and " + std::to_string(max));
        }
        return *number;
    }

    /// A duration in milliseconds, written as an integer in [min, max].
    milliseconds duration(std::uint64_t min, std::uint64_t max) const {
        return milliseconds(static_cast<milliseconds::rep>(integer(min, max)));
    }

    /// JSON true/false; as text also 1/0 and yes/no.
    bool boolean() const {
        if (!is_text_) {
            if (!raw_.is_boolean()) fail("true or false");
            return raw_.get<bool>();
        }
        const auto& text = raw_.get_ref<const std::string&>();
        if (text == "true" || text == "1" || text == "yes") return true;
        if (text == "false" || text == "0" || text == "no") return false;
        fail("true or false (also 1/0, yes/no)");
    }

    /// Any string; `what` describes the accepted values in the error message.
    std::string string(const std::string& what) const {
        if (!raw_.is_string()) fail(what);
        return raw_.get<std::string>();
    }

    /// A string accepted by `valid`, described by `what` in the error message.
    std::string string(const std::function<bool(std::string_view)>& valid,
                       const std::string& what) const {
        auto text = string(what);
        if (!valid(text)) fail(what);
        return text;
    }

    /// One of `choices`.
    std::string one_of(const std::vector<std::string>& choices) const {
        std::string what = "one of";
        for (std::size_t i = 0; i < choices.size(); ++i) {
            what += (i == 0 ? " " : ", ") + choices[i];
        }
        return string(
            [&](std::string_view text) {
                return std::find(choices.begin(), choices.end(), text) != choices.end();
            },
            what);
    }

    /// A list of strings each accepted by `valid`: a JSON array, or comma-separated text
    /// (the empty text is the empty list).
    std::vector<std::string> string_list(const std::function<bool(std::string_view)>& valid,
                                         const std::string& what) const {
        std::vector<std::string> items;
        if (is_text_) {
            items = split_commas(raw_.get_ref<const std::string&>());
        } else if (raw_.is_array() && std::all_of(raw_.begin(), raw_.end(),
                                                  [](const json& j) { return j.is_string(); })) {
            items = raw_.get<std::vector<std::string>>();
        } else {
            fail(what);
        }
        if (!std::all_of(items.begin(), items.end(), valid)) fail(what);
        return items;
    }

    /// A JSON array: in the file as it is, as text (environment, flags) parsed from JSON.
    json array(const std::string& what) const {
        json parsed = is_text_ ? parse_text() : raw_;
        if (!parsed.is_array()) fail(what);
        return parsed;
    }

    /// A JSON object: in the file as it is, as text (environment, flags) parsed from JSON.
    json object(const std::string& what) const {
        json parsed = is_text_ ? parse_text() : raw_;
        if (!parsed.is_object()) fail(what);
        return parsed;
    }

    const std::string& key() const { return key_; }

    /// Throws "<key>: must be <what> (got <value as JSON>)".
    [[noreturn]] void fail(const std::string& what) const {
        throw config_error(key_ + ": must be " + what + " (got " +
                           raw_.dump(-1, ' ', false, json::error_handler_t::replace) + ")");
    }


  private:
    /// The text of an environment variable or flag as JSON; discarded when it is not JSON or
    /// nests deeper than max_file_depth (copies of a document recurse).
    json parse_text() const {
        const auto& text = raw_.get_ref<const std::string&>();
        if (json_input::check(text, max_file_depth)) return json(json::value_t::discarded);
        return json::parse(text, nullptr, false);
    }

    static std::vector<std::string> split_commas(const std::string& text) {
        std::vector<std::string> items;
        if (text.empty()) return items;
        std::size_t start = 0;
        for (std::size_t comma; (comma = text.find(',', start)) != std::string::npos;) {
            items.push_back(text.substr(start, comma - start));
            start = comma + 1;
        }
        items.push_back(text.substr(start));
        return items;
    }

    std::string key_;
    json raw_;
    bool is_text_;
};

/// One configuration key. The table of these drives the JSON file, the environment, the
/// flags and --help.
struct option {
    std::string key;           ///< dotted, e.g. "limits.max_message_bytes"
    std::string default_text;  ///< the default as written on the command line
    std::string description;
    std::function<void(config&, const value&)> set;

    /// WSGATE_ + key upper-cased with '.' replaced by '_'.
    std::string env_name() const {
        std::string name(env_prefix);
        for (char c : key) {
            name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        return name;
    }
};

/// Every key, in the order --help lists them.
const std::vector<option>& options();
const option* find_option(std::string_view key);
const option* find_env_option(std::string_view name);
/// True when `prefix` is a section such as "limits", i.e. some key starts with "limits.".
bool is_section(const std::string& prefix);

// ---- checks (config_checks.cpp) ----

bool is_word_char(char c);
bool is_control_or_space(char c);
/// "host:port" with an IPv4 address, `localhost` or `[IPv6]` host; the host is stored
/// without brackets.
std::optional<endpoint_config> parse_endpoint(std::string_view text);
extern const std::string endpoint_what;
endpoint_config endpoint(const value& v);
bool is_ws_path(std::string_view text);
bool is_instance_id(std::string_view text);
bool is_channel_chars(std::string_view text);
bool is_api_key(std::string_view text);
std::string random_instance_id();
bool is_redis_prefix(std::string_view s);
/// <scheme>host[:port][/path] of a service: http:// for webhooks, ws:// for WebSockets.
bool parse_service_url(const std::string& url, std::string_view scheme, service_config& out);
std::map<std::string, service_config> parse_services(const value& v);
/// The `channels` rules: a JSON array of {"pattern", "subscribe", "publish", "check",
/// "history"}.
std::vector<auth::channel_rule> parse_channel_rules(const value& v);
/// A history policy {"size": ..., "ttl_ms": ...} (a channel rule's, history.users).
history::policy parse_history_policy(const value& v);
/// The contents of the file a key names ("" for an empty name).
std::string read_key_file(const value& v);
/// Rules that involve several keys, checked once every layer is applied.
void check_across_keys(const config& c);

}  // namespace wsgate::config_detail
