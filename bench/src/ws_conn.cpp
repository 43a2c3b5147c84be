#include "ws_conn.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgate_bench {

namespace {

constexpr std::size_t read_chunk = 64 * 1024;

char* shared_read_buffer() {
    static char buffer[read_chunk];  // single-threaded: every connection reads into this
    return buffer;
}

std::string close_description(std::string_view payload) {
    if (payload.size() < 2) return "server closed the connection (no code)";
    const int code =
        (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
    return "server closed the connection: " + std::to_string(code) + " " +
           std::string(payload.substr(2));
}

}  // namespace

ws_conn::ws_conn(event_loop& loop, ws_conn_listener& listener, int index)
    : loop_(loop), listener_(listener), index_(index) {}

ws_conn::~ws_conn() { abort(); }

bool ws_conn::start(const endpoint& to, const in_addr* source) {
    abort();
    reader_.reset();
    fd_ = start_connect(to, source);
    if (fd_ < 0) {
        listener_.on_closed(*this, std::string("connect: ") + std::strerror(errno));
        return false;
    }
    state_ = state::connecting;
    request_ = upgrade_request(to.host_port(), to.path);
    loop_.add(fd_, EPOLLOUT, *this);
    return true;
}

void ws_conn::send_text(std::string_view text) { send_bytes(masked_frame(op_text, text)); }

void ws_conn::close_gracefully() {
    if (state_ != state::open) return;
    state_ = state::closing;
    const char code[2] = {char(1000 >> 8), char(1000 & 0xFF)};
    send_bytes(masked_frame(op_close, std::string_view(code, 2)));
}

void ws_conn::abort() {
    if (fd_ >= 0) loop_.close_later(fd_);
    fd_ = -1;
    state_ = state::idle;
    outgoing_.clear();
    response_.clear();
}

void ws_conn::on_io(std::uint32_t events) {
    if (state_ == state::connecting) return finish_connect();
    if ((events & EPOLLOUT) != 0) flush();
    if (fd_ >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) read_available();
}

void ws_conn::finish_connect() {
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return finish(std::string("connect: ") + std::strerror(error));
    state_ = state::upgrading;
    loop_.modify(fd_, EPOLLIN);
    send_bytes(request_);
    request_.clear();
}

void ws_conn::read_available() {
    char* buffer = shared_read_buffer();
    for (;;) {
        const ssize_t got = recv(fd_, buffer, read_chunk, 0);
        if (got > 0) {
            on_bytes(buffer, std::size_t(got));
            if (fd_ < 0 || std::size_t(got) < read_chunk) return;
            continue;
        }
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (state_ == state::closing) return finish("");
        return finish(got == 0 ? "server hung up" : std::string("read: ") + std::strerror(errno));
    }
}

void ws_conn::on_bytes(const char* data, std::size_t size) {
    if (state_ == state::upgrading) return on_upgrade_bytes(data, size);
    const bool valid = reader_.feed(data, size, [this](std::uint8_t opcode, std::string_view p) {
        if (fd_ >= 0) on_frame(opcode, p);
    });
    if (!valid && fd_ >= 0) finish("protocol error in a server frame");
}

void ws_conn::on_upgrade_bytes(const char* data, std::size_t size) {
    response_.append(data, size);
    const auto end = response_.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (response_.size() > 16384) finish("upgrade response too long");
        return;
    }
    if (response_.compare(0, 12, "HTTP/1.1 101") != 0)
        return finish("upgrade refused: " + response_.substr(0, response_.find("\r\n")));
    const std::string rest = response_.substr(end + 4);
    response_.clear();
    state_ = state::open;
    listener_.on_open(*this);
    if (fd_ >= 0 && !rest.empty()) on_bytes(rest.data(), rest.size());
}

void ws_conn::on_frame(std::uint8_t opcode, std::string_view payload) {
    switch (opcode) {
        case op_text:
            return listener_.on_text(*this, payload);
        case op_ping:
            return send_bytes(masked_frame(op_pong, payload));
        case op_close:
            if (state_ == state::closing) return finish("");
            send_bytes(masked_frame(op_close, payload.substr(0, 2)));
            return finish(close_description(payload));
        default:
            return;
    }
}

void ws_conn::send_bytes(std::string_view bytes) {
    if (fd_ < 0) return;
    if (!outgoing_.empty()) {
        outgoing_.append(bytes);
        return;
    }
    const ssize_t sent = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN) return finish(std::string("write: ") + std::strerror(errno));
    const std::size_t done = sent < 0 ? 0 : std::size_t(sent);
    if (done == bytes.size()) return;
    outgoing_.assign(bytes.substr(done));
    loop_.modify(fd_, EPOLLIN | EPOLLOUT);
}

void ws_conn::flush() {
    if (outgoing_.empty()) return;
    const ssize_t sent = send(fd_, outgoing_.data(), outgoing_.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN) return finish(std::string("write: ") + std::strerror(errno));
    if (sent > 0) outgoing_.erase(0, std::size_t(sent));
    if (outgoing_.empty()) loop_.modify(fd_, EPOLLIN);
}

void ws_conn::finish(const std::string& error) {
    abort();
    listener_.on_closed(*this, error);
}

}  // namespace wsgate_bench
