#include "options.hpp"

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <map>
#include <stdexcept>

namespace wsgate_bench {

namespace {

[[noreturn]] void bad_value(const std::string& flag, const std::string& value,
                            const std::string& why) {
    throw std::invalid_argument(flag + ": " + why + " (got \"" + value + "\")");
}

long parse_integer(const std::string& flag, const std::string& value, long min, long max) {
    char* end = nullptr;
    errno = 0;
    const long parsed = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || errno != 0 || parsed < min || parsed > max)
        bad_value(
            flag, value,
            "must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
    return parsed;
}

double parse_number(const std::string& flag, const std::string& value, double min) {
    char* end = nullptr;
    errno = 0;
    const double parsed = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || errno != 0 || !(parsed >= min))
        bad_value(flag, value, "must be a number >= " + std::to_string(min));
    return parsed;
}

bench_mode parse_mode(const std::string& value) {
    if (value == "fanout") return bench_mode::fanout;
    if (value == "idle") return bench_mode::idle;
    if (value == "churn") return bench_mode::churn;
    if (value == "recover") return bench_mode::recover;
    bad_value("--mode", value, "must be fanout, idle, churn or recover");
}

using flag_setter = std::function<void(bench_options&, const std::string&)>;

// Flags that take a value, by name.
const std::map<std::string, flag_setter>& value_flags() {
    static const std::map<std::string, flag_setter> flags = {
        {"--mode", [](bench_options& o, const std::string& v) { o.mode = parse_mode(v); }},
        {"--subscribers",
         [](bench_options& o, const std::string& v) {
             o.subscribers = int(parse_integer("--subscribers", v, 0, 1000000));
         }},
        {"--channels",
         [](bench_options& o, const std::string& v) {
             o.channels = int(parse_integer("--channels", v, 1, 1000000));
         }},
        {"--events",
         [](bench_options& o, const std::string& v) {
             o.events = parse_integer("--events", v, 1, 1000000000);
         }},
        {"--batch",
         [](bench_options& o, const std::string& v) {
             o.batch = int(parse_integer("--batch", v, 1, 100000));
         }},
        {"--inflight",
         [](bench_options& o, const std::string& v) {
             o.inflight = int(parse_integer("--inflight", v, 1, 10000));
         }},
        {"--api-connections",
         [](bench_options& o, const std::string& v) {
             o.api_connections = int(parse_integer("--api-connections", v, 1, 1000));
         }},
        {"--rate",
         [](bench_options& o, const std::string& v) { o.rate = parse_number("--rate", v, 0); }},
        {"--size",
         [](bench_options& o, const std::string& v) {
             o.size = int(parse_integer("--size", v, 0, 16 * 1024 * 1024));
         }},
        {"--connections",
         [](bench_options& o, const std::string& v) {
             o.connections = int(parse_integer("--connections", v, 1, 1000000));
         }},
        {"--duration", [](bench_options& o,
                          const std::string& v) { o.duration = parse_number("--duration", v, 0); }},
        {"--timeout", [](bench_options& o,
                         const std::string& v) { o.timeout = parse_number("--timeout", v, 1); }},
        {"--ws", [](bench_options& o, const std::string& v) { o.ws.push_back(v); }},
        {"--api", [](bench_options& o, const std::string& v) { o.api = v; }},
        {"--api-key", [](bench_options& o, const std::string& v) { o.api_key = v; }},
        {"--pid",
         [](bench_options& o, const std::string& v) {
             o.pids.push_back(int(parse_integer("--pid", v, 1, 1L << 30)));
         }},
    };
    return flags;
}

void apply_mode_defaults(bench_options& o) {
    if (o.ws.empty()) o.ws.push_back("127.0.0.1:8080");
    if (o.api.empty()) o.api = o.ws.front();
    if (o.duration == 0) o.duration = o.mode == bench_mode::churn ? 10 : 2;
    if (o.mode == bench_mode::churn && o.rate == 0) o.rate = 100;
}

}  // namespace

bench_options parse_options(int argc, char** argv) {
    bench_options options;
    for (int i = 1; i < argc; ++i) {
        std::string flag = argv[i];
        std::string value;
        const auto equals = flag.find('=');
        const bool inline_value = flag.rfind("--", 0) == 0 && equals != std::string::npos;
        if (inline_value) {
            value = flag.substr(equals + 1);
            flag.resize(equals);
        }
        if (flag == "--help" || flag == "-h") {
            options.help = true;
            continue;
        }
        if (flag == "--json-only") {
            options.json_only = true;
            continue;
        }
        const auto found = value_flags().find(flag);
        if (found == value_flags().end()) throw std::invalid_argument("unknown flag " + flag);
        if (!inline_value) {
            if (i + 1 >= argc) throw std::invalid_argument(flag + ": needs a value");
            value = argv[++i];
        }
        found->second(options, value);
    }
    apply_mode_defaults(options);
    return options;
}

std::string usage_text() {
    return R"(usage: wsgate-bench [--mode fanout|idle|churn|recover] [flags]

Drives a running wsgate over its public interfaces (WebSocket + REST) and measures it.

  --mode fanout       N subscribers, M events published over REST; deliveries/s, latency,
                      lost/duplicated/out-of-order, server CPU per delivery (default)
  --mode idle         C connections held open; server RSS per connection
  --mode churn        connections opened and closed continuously while events flow
  --mode recover      M events published first (channels need history), then N subscribers
                      connect at once and recover them; seconds until all have them all

  --ws HOST:PORT[/PATH]   WebSocket endpoint (repeatable; subscribers are spread over them;
                          default 127.0.0.1:8080, path /ws)
  --api HOST:PORT         REST endpoint to publish to (default: the first --ws)
  --api-key KEY           sent as Authorization: Bearer KEY
  --subscribers N         fanout/churn/recover: subscribers counting deliveries (default 1000)
  --channels K            spread subscribers and events over K channels (default 1)
  --events M              fanout/recover: events to publish (default 1000)
  --batch B               events per request; B > 1 uses /api/v1/publish/batch (default 1)
  --inflight P            requests pipelined per API connection (default 1)
  --api-connections A     keep-alive API connections (default 1)
  --rate R                publish requests per second, 0 = as fast as possible
                          (default 0; churn: 100)
  --size BYTES            size of each event's data (default 100)
  --connections C         idle: connections held; churn: connections churning at once
                          (default 1000)
  --duration S            idle: seconds to hold; churn: seconds to run (default 2 / 10)
  --timeout S             limit for each phase (default 60)
  --pid PID               server process to measure (repeatable; default: found from ports)
  --json-only             print only the JSON summary line
Exit status: 0 ok, 1 lost/duplicated events or connection failures, 2 bad usage.
)";
}

const char* mode_name(bench_mode mode) {
    switch (mode) {
        case bench_mode::fanout:
            return "fanout";
        case bench_mode::idle:
            return "idle";
        case bench_mode::churn:
            return "churn";
        case bench_mode::recover:
            return "recover";
    }
    return "?";
}

}  // namespace wsgate_bench
