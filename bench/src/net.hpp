#pragma once

#include <cstdint>
#include <netinet/in.h>
#include <optional>
#include <string>

namespace wsgate_bench {

// A TCP endpoint given as host:port[/path] (IPv4; host names are resolved once).
struct endpoint {
    std::string host;
    std::uint16_t port = 0;
    std::string path;
    sockaddr_in address{};

    std::string host_port() const { return host + ":" + std::to_string(port); }
    bool is_loopback() const;
};

// Throws std::invalid_argument when `text` is not host:port[/path] or the host does not resolve.
endpoint parse_endpoint(const std::string& text, const std::string& default_path);

// The source address for client connection `index` to `to`: one of 127.0.0.2 … 127.0.0.9 when
// `to` is a loopback address (to pass the ephemeral-port limit of one source), else none.
std::optional<in_addr> source_address_for(const endpoint& to, int index);

// Starts a non-blocking connect to `to`, bound first to `source` when given. Returns the socket,
// or -1 with errno set.
int start_connect(const endpoint& to, const in_addr* source);

// Raises RLIMIT_NOFILE to its hard limit and returns the new soft limit.
long raise_fd_limit();

std::int64_t monotonic_ns();

}  // namespace wsgate_bench
