#include "http_client.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgate_bench {

namespace {

// Value of the Content-Length header in `head` (status line and headers), or -1.
long content_length(const std::string& head) {
    std::size_t line = head.find("\r\n");
    while (line != std::string::npos && line + 2 < head.size()) {
        const std::size_t start = line + 2;
        line = head.find("\r\n", start);
        const std::string header = head.substr(start, line - start);
        if (header.size() > 15 && strncasecmp(header.c_str(), "content-length:", 15) == 0)
            return std::strtol(header.c_str() + 15, nullptr, 10);
    }
    return -1;
}

int status_of(const std::string& head) {
    return head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
}

bool wait_for(int fd, short events, std::int64_t deadline_ns) {
    pollfd watched{fd, events, 0};
    const std::int64_t left_ms = (deadline_ns - monotonic_ns()) / 1'000'000;
    return left_ms > 0 && poll(&watched, 1, int(left_ms)) == 1;
}

bool connect_blocking(int fd, std::int64_t deadline_ns) {
    if (!wait_for(fd, POLLOUT, deadline_ns)) return false;
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    errno = error;
    return error == 0;
}

}  // namespace

std::string json_post_request(const endpoint& to, const std::string& path, const std::string& body,
                              const std::string& api_key) {
    std::string request =
        "POST " + path + " HTTP/1.1\r\nHost: " + to.host_port() +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n";
    if (!api_key.empty()) request += "Authorization: Bearer " + api_key + "\r\n";
    request += "\r\n";
    request += body;
    return request;
}

http_pipeline::http_pipeline(event_loop& loop, int max_in_flight, response_handler on_response,
                             error_handler on_error)
    : loop_(loop),
      max_in_flight_(max_in_flight),
      on_response_(std::move(on_response)),
      on_error_(std::move(on_error)) {}

http_pipeline::~http_pipeline() {
    if (fd_ >= 0) loop_.close_later(fd_);
}

bool http_pipeline::connect_to(const endpoint& to) {
    fd_ = start_connect(to, nullptr);
    if (fd_ < 0 || !connect_blocking(fd_, monotonic_ns() + 5'000'000'000)) {
        fail("cannot connect to the API at " + to.host_port() + ": " + std::strerror(errno));
        return false;
    }
    loop_.add(fd_, EPOLLIN, *this);
    return true;
}

void http_pipeline::send(const std::string& request, std::int64_t tag) {
    tags_.push_back(tag);
    const bool was_empty = outgoing_.empty();
    outgoing_ += request;
    if (was_empty) flush();
}

void http_pipeline::on_io(std::uint32_t events) {
    if ((events & EPOLLOUT) != 0) flush();
    if (fd_ >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) read_available();
}

void http_pipeline::read_available() {
    char buffer[64 * 1024];
    const ssize_t got = recv(fd_, buffer, sizeof buffer, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got <= 0)
        return fail(got == 0 ? "the API closed the connection"
                             : std::string("API read: ") + std::strerror(errno));
    incoming_.append(buffer, std::size_t(got));
    http_response response;
    while (fd_ >= 0 && take_response(response)) {
        if (tags_.empty()) return fail("the API sent a response nobody asked for");
        const std::int64_t tag = tags_.front();
        tags_.pop_front();
        on_response_(response, tag);
    }
}

bool http_pipeline::take_response(http_response& response) {
    const auto head_end = incoming_.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    const std::string head = incoming_.substr(0, head_end);
    const long length = content_length(head);
    const std::size_t body_start = head_end + 4;
    const std::size_t body_size = length < 0 ? 0 : std::size_t(length);
    if (incoming_.size() < body_start + body_size) return false;
    response.status = status_of(head);
    response.body = incoming_.substr(body_start, body_size);
    incoming_.erase(0, body_start + body_size);
    return true;
}

void http_pipeline::flush() {
    const ssize_t sent = ::send(fd_, outgoing_.data(), outgoing_.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN) return fail(std::string("API write: ") + std::strerror(errno));
    if (sent > 0) outgoing_.erase(0, std::size_t(sent));
    loop_.modify(fd_, outgoing_.empty() ? EPOLLIN : EPOLLIN | EPOLLOUT);
}

void http_pipeline::fail(const std::string& error) {
    if (fd_ >= 0) loop_.close_later(fd_);
    fd_ = -1;
    on_error_(error);
}

http_response http_get(const endpoint& to, const std::string& path, int timeout_ms) {
    const std::int64_t deadline = monotonic_ns() + std::int64_t(timeout_ms) * 1'000'000;
    http_response response;
    const int fd = start_connect(to, nullptr);
    if (fd < 0) return response;
    std::string exchange =
        "GET " + path + " HTTP/1.1\r\nHost: " + to.host_port() + "\r\nConnection: close\r\n\r\n";
    bool ok = connect_blocking(fd, deadline) && ::send(fd, exchange.data(), exchange.size(),
                                                       MSG_NOSIGNAL) == ssize_t(exchange.size());
    exchange.clear();
    char buffer[16384];
    while (ok && wait_for(fd, POLLIN, deadline)) {
        const ssize_t got = recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0) break;
        exchange.append(buffer, std::size_t(got));
    }
    close(fd);
    const auto head_end = exchange.find("\r\n\r\n");
    if (head_end == std::string::npos) return response;
    response.status = status_of(exchange.substr(0, head_end));
    response.body = exchange.substr(head_end + 4);
    return response;
}

}  // namespace wsgate_bench
