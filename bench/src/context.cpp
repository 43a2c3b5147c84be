#include "context.hpp"

#include <algorithm>
#include <random>
#include <sstream>
#include <unistd.h>

#include "http_client.hpp"
#include "proc_stats.hpp"

namespace wsgate_bench {

namespace {

std::vector<int> server_pids_from_ports(const bench_context& context) {
    std::vector<int> pids;
    std::vector<endpoint> endpoints = context.ws;
    endpoints.push_back(context.api);
    for (const auto& e : endpoints) {
        const int pid = e.is_loopback() ? find_listener_pid(e.port) : 0;
        if (pid > 0 && std::find(pids.begin(), pids.end(), pid) == pids.end()) pids.push_back(pid);
    }
    return pids;
}

std::string unique_channel_prefix() {
    std::ostringstream prefix;
    prefix << "bench-" << std::hex << (std::random_device{}() & 0xFFFFFF) << "-";
    return prefix.str();
}

}  // namespace

bench_context make_context(const bench_options& options) {
    bench_context context;
    context.options = options;
    for (const auto& text : options.ws) context.ws.push_back(parse_endpoint(text, "/ws"));
    context.api = parse_endpoint(options.api, "/");
    context.server_pids = options.pids.empty() ? server_pids_from_ports(context) : options.pids;
    context.channel_prefix = unique_channel_prefix();
    return context;
}

bool wait_until_ready(const bench_context& context, std::int64_t deadline_ns) {
    for (const auto& e : context.ws) {
        while (http_get(e, "/readyz", 1000).status != 200) {
            if (monotonic_ns() >= deadline_ns) return false;
            usleep(20'000);
        }
    }
    return true;
}

resource_meter::resource_meter(const std::vector<int>& server_pids)
    : server_pids_(server_pids), start_ns_(monotonic_ns()) {
    const server_sample server = sample_servers(server_pids);
    server_cpu_start_ = server.cpu_seconds;
    server_runq_start_ = server.runq_seconds;
    client_cpu_start_ = own_cpu_seconds();
    client_runq_start_ = own_runq_seconds();
}

double resource_meter::report_window(std::int64_t end_ns, report& out) const {
    const server_sample server = sample_servers(server_pids_);
    const double wall = std::max(1e-9, double(end_ns - start_ns_) / 1e9);
    const double client_cpu = own_cpu_seconds() - client_cpu_start_;
    const double client_share = 100.0 * client_cpu / wall;
    const double server_cpu = server.cpu_seconds - server_cpu_start_;
    const double server_share = 100.0 * server_cpu / wall;
    // Runnable but not running: the CPU was busy with other processes.
    const double client_runq = 100.0 * (own_runq_seconds() - client_runq_start_) / wall;
    const double server_runq = 100.0 * (server.runq_seconds - server_runq_start_) / wall;
    out.add_number("wall_s", "wall time", wall, 3, "s");
    out.add_number("client_cpu_s", "client CPU", client_cpu, 3, "s");
    out.add_number("client_cpu_pct", "client CPU share of wall", client_share, 1, "%");
    out.add_number("client_runq_pct", "client waiting for a CPU", client_runq, 1, "% of wall");
    if (!server_pids_.empty()) {
        out.add_number("server_cpu_s", "server CPU", server_cpu, 3, "s");
        out.add_number("server_cpu_pct", "server CPU share of wall", server_share, 1, "%");
        out.add_number("server_runq_pct", "server waiting for a CPU (summed over processes)",
                       server_runq, 1, "% of wall");
        out.add_number("server_peak_rss_mib", "server peak RSS (VmHWM)",
                       double(server.peak_rss_bytes) / (1024.0 * 1024.0), 1, "MiB");
    }
    std::ostringstream verdict;
    if (!server_pids_.empty())
        verdict << "server CPU " << int(server_share + 0.5) << "% of wall"
                << (server_share >= 90 ? " (saturated)" : "")
                << (server_runq >= 10 ? ", waited for a CPU " + std::to_string(int(server_runq + 0.5)) +
                                            "% (busy machine)"
                                      : "")
                << "; ";
    verdict << "client CPU " << int(client_share + 0.5) << "% of wall: "
            << (client_share < 80 ? "not the bottleneck" : "may be the bottleneck");
    out.add_text("verdict", "verdict", verdict.str());
    if (server_pids_.empty())
        out.add_text("server", "server process", "not found (give --pid): no server figures");
    return server_pids_.empty() ? 0 : server_cpu;
}

}  // namespace wsgate_bench
