#pragma once

#include <string>
#include <vector>

namespace wsgate_bench {

enum class bench_mode { fanout, idle, churn, recover };

// Everything the command line can set. Defaults are filled in by parse_options().
struct bench_options {
    bench_mode mode = bench_mode::fanout;
    int subscribers = 1000;       // fanout, churn, recover: subscribers that count deliveries
    int channels = 1;             // subscribers and events are spread over this many channels
    long events = 1000;           // fanout, recover: events published
    int batch = 1;                // events per publish request (>1: POST /api/v1/publish/batch)
    int inflight = 1;             // publish requests pipelined on each API connection
    int api_connections = 1;      // keep-alive API connections used by the publisher
    double rate = 0;              // publish requests per second; 0: as fast as possible
    int size = 100;               // bytes of each event's `data`
    int connections = 1000;       // idle: connections held; churn: connections churning at once
    double duration = 0;          // idle: seconds held; churn: seconds run (0: mode default)
    double timeout = 60;          // seconds allowed for each phase before giving up
    std::vector<std::string> ws;  // WebSocket endpoints, host:port[/path]
    std::string api;              // REST endpoint, host:port (default: the first --ws)
    std::string api_key;
    std::vector<int> pids;  // server processes to measure (default: found from the ports)
    bool json_only = false;
    bool help = false;
};

// Parses the command line; throws std::invalid_argument naming the flag on a bad one.
bench_options parse_options(int argc, char** argv);

std::string usage_text();

const char* mode_name(bench_mode mode);

}  // namespace wsgate_bench
