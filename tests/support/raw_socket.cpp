#include "raw_socket.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_io.hpp"

namespace wsgate::test {
namespace {

using clock_type = std::chrono::steady_clock;

sockaddr_in ipv4(const std::string& address, std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
        throw io_failure("raw socket: not an IPv4 address: " + address);
    }
    return addr;
}

int remaining_ms(clock_type::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}

/// Waits up to `timeout_ms` for `events` on `fd`; the revents (0 on timeout).
short wait_for(int fd, short events, int timeout_ms) {
    pollfd p{fd, events, 0};
    int n = 0;
    do {
        n = ::poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    return n > 0 ? p.revents : 0;
}

}  // namespace

raw_socket::raw_socket(std::uint16_t port, const std::string& local_address,
                       std::chrono::milliseconds timeout) {
    connect(port, local_address, timeout, 0);
}

raw_socket::raw_socket(std::uint16_t port, receive_buffer buffer) {
    connect(port, {}, std::chrono::seconds(5), buffer.bytes);
}

void raw_socket::connect(std::uint16_t port, const std::string& local_address,
                         std::chrono::milliseconds timeout, int receive_bytes) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw io_failure(std::string("raw socket: socket: ") + std::strerror(errno));
    }
    // Before connect(), so that the window and MSS offered in the handshake fit it.
    if (receive_bytes > 0) {
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_bytes, sizeof receive_bytes);
    }
    if (!local_address.empty()) {
        const auto local = ipv4(local_address, 0);
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
            const int e = errno;
            ::close(fd_);
            throw io_failure("raw socket: bind " + local_address + ": " + std::strerror(e));
        }
    }
    const auto remote = ipv4("127.0.0.1", port);
    int rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&remote), sizeof remote);
    if (rc != 0 && errno == EINPROGRESS) {
        const int timeout_ms = static_cast<int>(timeout.count());
        if ((wait_for(fd_, POLLOUT, timeout_ms) & (POLLOUT | POLLERR | POLLHUP)) != 0) {
            int so_error = 0;
            socklen_t length = sizeof so_error;
            ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so_error, &length);
            rc = so_error == 0 ? 0 : -1;
            errno = so_error;
        } else {
            errno = ETIMEDOUT;
        }
    }
    if (rc != 0) {
        const int e = errno;
        ::close(fd_);
        throw io_failure("raw socket: connect to port " + std::to_string(port) + ": " +
                         std::strerror(e));
    }
}

raw_socket::~raw_socket() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void raw_socket::failed(int error) {
    if (error_ == 0) {
        error_ = error;
    }
}

std::string raw_socket::end_description() const {
    if (error_ != 0) {
        return std::strerror(error_);
    }
    return input_ended_ ? "eof" : "open";
}

std::size_t raw_socket::send_some(std::string_view bytes) {
    if (write_failed_ || bytes.empty()) {
        return 0;
    }
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            write_failed_ = true;
            failed(errno);
        }
        return 0;
    }
    bytes_sent_ += static_cast<std::uint64_t>(n);
    return static_cast<std::size_t>(n);
}

bool raw_socket::send_all(std::string_view bytes, std::chrono::milliseconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    while (!bytes.empty()) {
        bytes.remove_prefix(send_some(bytes));
        if (write_failed_) {
            return false;
        }
        if (bytes.empty()) {
            break;
        }
        if (clock_type::now() >= deadline) {
            return false;
        }
        wait_for(fd_, POLLOUT, remaining_ms(deadline));
    }
    return true;
}

bool raw_socket::poll_input(std::chrono::milliseconds wait) {
    if (input_ended_) {
        return false;
    }
    if (wait_for(fd_, POLLIN, static_cast<int>(wait.count())) == 0) {
        return true;
    }
    char chunk[65536];
    for (;;) {
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n > 0) {
            received_.append(chunk, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            input_ended_ = true;
            return false;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return true;
        }
        input_ended_ = true;
        failed(errno);
        return false;
    }
}

bool raw_socket::receive_until(const std::function<bool()>& done,
                               std::chrono::milliseconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    while (!done()) {
        if (input_ended_ || clock_type::now() >= deadline) {
            return done();
        }
        poll_input(std::chrono::milliseconds(std::min(remaining_ms(deadline), 50)));
    }
    return true;
}

bool raw_socket::wait_input_end(std::chrono::milliseconds timeout) {
    receive_until([this] { return input_ended_; }, timeout);
    return input_ended_;
}

std::string upgrade_request(std::uint16_t port, const std::string& target,
                            const header_list& headers) {
    std::string request = "GET " + target + " HTTP/1.1\r\n" +
                          "Host: 127.0.0.1:" + std::to_string(port) + "\r\n" +
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n";
    for (const auto& [name, value] : headers) {
        request += name + ": " + value + "\r\n";
    }
    return request + "\r\n";
}

std::optional<unsigned> take_http_head(std::string& bytes, std::string* head) {
    const auto end = bytes.find("\r\n\r\n");
    if (end == std::string::npos) {
        return std::nullopt;
    }
    const std::string text = bytes.substr(0, end + 4);
    bytes.erase(0, end + 4);
    if (head != nullptr) {
        *head = text;
    }
    // "HTTP/1.1 101 Switching Protocols"
    const auto space = text.find(' ');
    if (space == std::string::npos || text.rfind("HTTP/", 0) != 0) {
        throw io_failure("not an HTTP response: " + text.substr(0, 200));
    }
    return static_cast<unsigned>(std::stoul(text.substr(space + 1, 3)));
}

unsigned raw_upgrade(raw_socket& socket, std::uint16_t port, const std::string& target,
                     const header_list& headers, std::chrono::milliseconds timeout) {
    if (!socket.send_all(upgrade_request(port, target, headers), timeout)) {
        throw io_failure("raw upgrade: writing the request failed (" + socket.end_description() +
                         ")");
    }
    std::optional<unsigned> status;
    socket.receive_until([&] { return (status = take_http_head(socket.received())).has_value(); },
                         timeout);
    if (!status) {
        throw io_failure("raw upgrade: no complete answer within " +
                         std::to_string(timeout.count()) + " ms (" + socket.end_description() +
                         ")");
    }
    return *status;
}

namespace {

std::string frame_header(std::uint8_t op, std::uint64_t length, bool fin,
                         const unsigned char (&key)[4]) {
    std::string header;
    header += static_cast<char>((fin ? 0x80 : 0x00) | (op & 0x0f));
    if (length < 126) {
        header += static_cast<char>(0x80 | length);
    } else if (length <= 0xffff) {
        header += static_cast<char>(0x80 | 126);
        header += static_cast<char>((length >> 8) & 0xff);
        header += static_cast<char>(length & 0xff);
    } else {
        header += static_cast<char>(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8) {
            header += static_cast<char>((length >> shift) & 0xff);
        }
    }
    header.append(reinterpret_cast<const char*>(key), 4);
    return header;
}

}  // namespace

std::string client_frame(std::uint8_t op, std::string_view payload, bool fin) {
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    std::string frame = frame_header(op, payload.size(), fin, key);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        frame += static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i % 4]);
    }
    return frame;
}

std::string client_frame_header(std::uint8_t op, std::uint64_t length, bool fin) {
    static const unsigned char zero_key[4] = {0, 0, 0, 0};
    return frame_header(op, length, fin, zero_key);
}

std::uint16_t wire_frame::close_code() const {
    if (op != opcode::close || payload.size() < 2) {
        return 0;
    }
    return static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                      static_cast<unsigned char>(payload[1]));
}

std::string wire_frame::close_reason() const {
    return op == opcode::close && payload.size() > 2 ? payload.substr(2) : std::string();
}

std::vector<wire_frame> take_frames(std::string& bytes) {
    std::vector<wire_frame> frames;
    std::size_t pos = 0;
    const auto byte = [&bytes](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    for (;;) {
        if (bytes.size() - pos < 2) {
            break;
        }
        std::size_t header = 2;
        std::uint64_t length = byte(pos + 1) & 0x7f;
        if (length == 126) {
            header = 4;
        } else if (length == 127) {
            header = 10;
        }
        const bool masked = (byte(pos + 1) & 0x80) != 0;  // a server must not; parse it anyway
        if (bytes.size() - pos < header + (masked ? 4 : 0)) {
            break;
        }
        if (header > 2) {
            length = 0;
            for (std::size_t i = 2; i < header; ++i) {
                length = (length << 8) | byte(pos + i);
            }
        }
        const std::size_t key_at = pos + header;
        if (masked) {
            header += 4;
        }
        if (bytes.size() - pos - header < length) {
            break;
        }
        wire_frame frame;
        frame.op = byte(pos) & 0x0f;
        frame.fin = (byte(pos) & 0x80) != 0;
        frame.payload = bytes.substr(pos + header, static_cast<std::size_t>(length));
        if (masked) {
            for (std::size_t i = 0; i < frame.payload.size(); ++i) {
                frame.payload[i] = static_cast<char>(byte(pos + header + i) ^ byte(key_at + i % 4));
            }
        }
        frames.push_back(std::move(frame));
        pos += header + static_cast<std::size_t>(length);
    }
    bytes.erase(0, pos);
    return frames;
}

}  // namespace wsgate::test
