#include "net.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgate_bench {

namespace {

in_addr resolve_ipv4(const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr)
        throw std::invalid_argument("cannot resolve host \"" + host + "\"");
    const in_addr address = reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr;
    freeaddrinfo(found);
    return address;
}

}  // namespace

bool endpoint::is_loopback() const { return (ntohl(address.sin_addr.s_addr) >> 24) == 127; }

endpoint parse_endpoint(const std::string& text, const std::string& default_path) {
    endpoint result;
    const auto slash = text.find('/');
    const std::string host_port = text.substr(0, slash);
    result.path = slash == std::string::npos ? default_path : text.substr(slash);
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos || colon == 0)
        throw std::invalid_argument("endpoint \"" + text + "\" is not host:port");
    result.host = host_port.substr(0, colon);
    const std::string port = host_port.substr(colon + 1);
    char* end = nullptr;
    const long number = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || number < 1 || number > 65535)
        throw std::invalid_argument("endpoint \"" + text + "\" has a bad port");
    result.port = static_cast<std::uint16_t>(number);
    result.address.sin_family = AF_INET;
    result.address.sin_port = htons(result.port);
    result.address.sin_addr = resolve_ipv4(result.host);
    return result;
}

std::optional<in_addr> source_address_for(const endpoint& to, int index) {
    constexpr unsigned source_count = 8;
    if (!to.is_loopback()) return std::nullopt;
    in_addr address{};
    address.s_addr = htonl((127u << 24) + 2u + static_cast<unsigned>(index) % source_count);
    return address;
}

int start_connect(const endpoint& to, const in_addr* source) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (source != nullptr) {
        // Let connect() pick the port per 4-tuple instead of reserving one at bind().
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_addr = *source;
        if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
            const int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
    }
    if (connect(fd, reinterpret_cast<const sockaddr*>(&to.address), sizeof to.address) != 0 &&
        errno != EINPROGRESS) {
        const int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

long raise_fd_limit() {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
    return static_cast<long>(limit.rlim_cur);
}

std::int64_t monotonic_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return std::int64_t(now.tv_sec) * 1000000000 + now.tv_nsec;
}

}  // namespace wsgate_bench
