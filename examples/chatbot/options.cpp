#include "options.hpp"

#include <charconv>
#include <map>
#include <vector>

namespace chatbot {
namespace {

host_port parse_host_port(const std::string& flag, const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
        throw usage_error(flag + ": expected HOST:PORT, got '" + text + "'");
    }
    std::string host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);  // [::1]:8080
    }
    unsigned port = 0;
    const char* first = text.data() + colon + 1;
    const char* last = text.data() + text.size();
    const auto [end, ec] = std::from_chars(first, last, port);
    if (ec != std::errc() || end != last || port > 65535) {
        throw usage_error(flag + ": bad port in '" + text + "'");
    }
    return host_port{host, static_cast<std::uint16_t>(port)};
}

host_port parse_redis_url(const std::string& text) {
    const std::string scheme = "redis://";
    if (text.rfind(scheme, 0) != 0) {
        throw usage_error("--queue: expected redis://HOST:PORT, got '" + text + "'");
    }
    std::string authority = text.substr(scheme.size());
    if (!authority.empty() && authority.back() == '/') {
        authority.pop_back();
    }
    return parse_host_port("--queue", authority);
}

host_port parse_gateway_url(const std::string& text) {
    const std::string scheme = "http://";
    if (text.rfind(scheme, 0) != 0) {
        throw usage_error("--gateway: expected http://HOST:PORT, got '" + text + "'");
    }
    std::string authority = text.substr(scheme.size());
    if (!authority.empty() && authority.back() == '/') {
        authority.pop_back();
    }
    return parse_host_port("--gateway", authority);
}

/// The flags as a name → value map; accepts `--name value` and `--name=value`.
std::map<std::string, std::string> collect_flags(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    std::map<std::string, std::string> flags;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.rfind("--", 0) != 0) {
            throw usage_error("unexpected argument '" + arg + "'");
        }
        const auto equals = arg.find('=');
        if (equals != std::string::npos) {
            flags[arg.substr(2, equals - 2)] = arg.substr(equals + 1);
        } else if (arg == "--help") {
            flags["help"] = "";
        } else if (i + 1 < args.size()) {
            flags[arg.substr(2)] = args[++i];
        } else {
            throw usage_error(arg + " needs a value");
        }
    }
    return flags;
}

}  // namespace

options parse_options(int argc, char** argv) {
    options opts;
    for (const auto& [name, value] : collect_flags(argc, argv)) {
        if (name == "listen") {
            opts.listen = parse_host_port("--listen", value);
        } else if (name == "secret") {
            opts.secret = value;
        } else if (name == "gateway") {
            opts.gateway = parse_gateway_url(value);
        } else if (name == "api-key") {
            opts.api_key = value;
        } else if (name == "queue") {
            opts.queue = parse_redis_url(value);
        } else if (name == "stream") {
            opts.stream = value;
        } else if (name == "group") {
            opts.group = value;
        } else if (name == "consumer") {
            opts.consumer = value;
        } else if (name == "help") {
            opts.help = true;
        } else {
            throw usage_error("unknown flag --" + name);
        }
    }
    if (opts.help) {
        return opts;
    }
    if (opts.queue) {
        if (!opts.gateway) {
            throw usage_error("--queue needs --gateway (answers go through the REST API)");
        }
        if (opts.stream.empty() || opts.group.empty()) {
            throw usage_error("--stream and --group must not be empty");
        }
    } else if (opts.secret.empty()) {
        throw usage_error("--secret is required");
    }
    return opts;
}

std::string usage_text() {
    return "usage: wsgate-chatbot --secret S [--listen HOST:PORT] [--gateway http://HOST:PORT]"
           " [--api-key K]\n"
           "       wsgate-chatbot --queue redis://HOST:PORT --gateway http://HOST:PORT --api-key K\n"
           "                      [--stream KEY] [--group G] [--consumer NAME]\n"
           "  --listen   address to serve webhooks on (default 127.0.0.1:0, any free port)\n"
           "  --secret   HMAC-SHA256 key shared with the gateway's service configuration\n"
           "  --gateway  the gateway's REST API, for answers sent later (push, later)\n"
           "  --api-key  Bearer key for the gateway's REST API\n"
           "  --queue    worker mode: read the `queue` service's Redis stream instead of listening\n"
           "  --stream   the stream key (default wsgate:svc:chatbot)\n"
           "  --group    the consumer group (default workers; created when missing)\n"
           "  --consumer this worker's name in the group (default <hostname>-<pid>)\n";
}

}  // namespace chatbot
