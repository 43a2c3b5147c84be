#include <wsgate/config/config.hpp>

#include "config_detail.hpp"

#include <wsgate/json/json_reader.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

extern char** environ;

namespace wsgate {
namespace {

using namespace config_detail;

// ---- the layers ----

std::string read_file(const std::string& path) {
    auto fail = [&] {
        throw config_error("--config: cannot read " + path + ": " + std::strerror(errno));
    };
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    if (!file) fail();
    std::string text;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) {
        text.append(buffer, n);
    }
    if (std::ferror(file.get())) fail();
    return text;
}

/// Applies the members of a JSON object whose keys are below `prefix` (empty at the top).
void apply_json_object(config& cfg, const json& object, const std::string& prefix) {
    for (const auto& [name, member] : object.items()) {
        std::string key = prefix.empty() ? name : prefix + "." + name;
        if (name.find('.') != std::string::npos) {
            throw config_error(key + ": unknown key (keys nest by their dots)");
        }
        if (const option* opt = find_option(key)) {
            opt->set(cfg, value(opt->key, member, false));
        } else if (!is_section(key)) {
            throw config_error(key + ": unknown key");
        } else if (!member.is_object()) {
            value(key, member, false).fail("an object");
        } else {
            apply_json_object(cfg, member, key);
        }
    }
}

void apply_file(config& cfg, const std::string& path) {
    json document;
    const std::string text = read_file(path);
    // nlohmann's parser does not recurse, but copying and printing a document does: a file
    // nested absurdly deep is refused before it is parsed.
    if (auto bad = json_input::check(text, max_file_depth)) {
        if (bad->what == json_input::fault::too_deep)
            throw config_error(path + ": nested deeper than " + std::to_string(max_file_depth) +
                               " levels");
    }
    try {
        document = json::parse(text);
    } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
        std::string message = e.what();
        // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
        auto bracket = message.find("] ");
        if (message.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos) {
            message.erase(0, bracket + 2);
        }
        throw config_error(path + ": invalid JSON: " + message);
    }
    if (!document.is_object()) throw config_error(path + ": must be a JSON object");
    apply_json_object(cfg, document, "");
}

/// Unknown WSGATE_* variables are only reported in `warnings`: Kubernetes puts
/// WSGATE_SERVICE_HOST, WSGATE_PORT, ... into every pod when a Service is named wsgate, and
/// nobody can keep them out. (Unknown keys in the file and unknown flags stay errors.)
void apply_environment(config& cfg, const std::map<std::string, std::string>& env,
                       std::vector<std::string>& warnings) {
    for (const auto& [name, text] : env) {
        if (name.compare(0, env_prefix.size(), env_prefix) != 0) continue;
        if (const option* opt = find_env_option(name))
            opt->set(cfg, value(opt->key, text, true));
        else
            warnings.push_back(name + ": unknown environment variable, ignored");
    }
}

/// The command line split into --config, --help/--version and key flags.
struct command_line {
    config_action action = config_action::run;
    std::optional<std::string> config_path;
    std::vector<std::pair<const option*, std::string>> flags;
};

command_line parse_command_line(const std::vector<std::string>& args) {
    command_line parsed;
    for (const auto& arg : args) {
        if (arg == "--help" || arg == "-h") {
            parsed.action = config_action::help;
            return parsed;
        }
        if (arg == "--version") {
            parsed.action = config_action::version;
            return parsed;
        }
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.rfind("-", 0) != 0) throw config_error(arg + ": unexpected argument");
        auto equals = arg.find('=');
        std::string name = arg.substr(0, equals);
        const option* opt = name.rfind("--", 0) == 0 ? find_option(name.substr(2)) : nullptr;
        if (!opt && name != "--config") throw config_error(name + ": unknown option");

        std::string text;
        if (equals != std::string::npos) {
            text = arg.substr(equals + 1);
        } else if (i + 1 < args.size()) {
            text = args[++i];
        } else {
            throw config_error(name + ": needs a value");
        }

        if (opt) {
            parsed.flags.emplace_back(opt, text);
        } else if (parsed.config_path) {
            throw config_error("--config: may be given only once");
        } else {
            parsed.config_path = text;
        }
    }
    return parsed;
}

}  // namespace

load_result load_config(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env) {
    load_result result;
    command_line parsed = parse_command_line(args);
    result.action = parsed.action;
    if (result.action == config_action::run) {
        if (parsed.config_path) apply_file(result.cfg, *parsed.config_path);
        apply_environment(result.cfg, env, result.warnings);
        for (const auto& [opt, text] : parsed.flags) {
            opt->set(result.cfg, value(opt->key, text, true));
        }
    }
    check_across_keys(result.cfg);
    // The JSON depth limit applies to what services, the webhook and tokens send too.
    auto& c = result.cfg;
    for (auto& [name, s] : c.services) s.json_max_depth = c.limits.json_max_depth;
    c.auth.subscribe_check.webhook.json_max_depth = c.limits.json_max_depth;
    c.auth.jwt.max_json_depth = c.limits.json_max_depth;
    if (result.cfg.server.instance_id.empty()) {
        result.cfg.server.instance_id = random_instance_id();
    }
    return result;
}

std::map<std::string, std::string> wsgate_environment() {
    std::map<std::string, std::string> env;
    for (char** entry = environ; entry && *entry; ++entry) {
        std::string_view text(*entry);
        auto equals = text.find('=');
        if (text.rfind(env_prefix, 0) == 0 && equals != std::string_view::npos) {
            env.emplace(text.substr(0, equals), text.substr(equals + 1));
        }
    }
    return env;
}

std::string config_help() {
    std::string help =
        "usage: wsgate [--config PATH] [--<key> VALUE | --<key>=VALUE]...\n"
        "\n"
        "  --config PATH   read a JSON file whose keys nest by their dots\n"
        "  -h, --help      print this help and exit\n"
        "  --version       print the version and exit\n"
        "\n"
        "Keys, each overriding: default < --config file < environment < flag.\n"
        "Lists are comma-separated; booleans are true/false, 1/0 or yes/no.\n";
    for (const auto& opt : options()) {
        std::string shown = opt.default_text.empty() ? "\"\"" : opt.default_text;
        help += "\n  --" + opt.key + " VALUE   default: " + shown + "   env: " + opt.env_name() +
                "\n      " + opt.description + "\n";
    }
    return help;
}

}  // namespace wsgate