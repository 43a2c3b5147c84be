#include "raw_ws_client.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <optional>

#include "test_io.hpp"

namespace wsgate::test {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

/// Removes the first frame of `bytes` into `out` if it is complete.
bool take_frame(std::string& bytes, raw_frame& out) {
    if (bytes.size() < 2) {
        return false;
    }
    const auto byte = [&bytes](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    std::size_t header = 2;
    std::uint64_t length = byte(1) & 0x7f;
    if (length == 126) {
        header = 4;
    } else if (length == 127) {
        header = 10;
    }
    if (bytes.size() < header) {
        return false;
    }
    if (header > 2) {
        length = 0;
        for (std::size_t i = 2; i < header; ++i) {
            length = (length << 8) | byte(i);
        }
    }
    if ((byte(1) & 0x80) != 0) {
        header += 4;  // masked (a server must not, but parse it anyway)
    }
    if (bytes.size() < header + length) {
        return false;
    }
    out.fin = (byte(0) & 0x80) != 0;
    out.rsv1 = (byte(0) & 0x40) != 0;
    out.opcode = byte(0) & 0x0f;
    out.payload = bytes.substr(header, length);
    bytes.erase(0, header + length);
    return true;
}

/// Removes the complete frames at the start of `bytes`, appending their opcodes to `opcodes`.
void take_frames(std::string& bytes, std::vector<int>& opcodes) {
    raw_frame f;
    while (take_frame(bytes, f)) {
        opcodes.push_back(f.opcode);
    }
}

}  // namespace

raw_ws_client::raw_ws_client(std::chrono::milliseconds timeout)
    : socket_(ioc_), timeout_(timeout) {}

template <class Start>
error_code raw_ws_client::run_op(Start start) {
    if (auto result = test::run_op(ioc_, socket_, timeout_, start)) return *result;
    throw io_failure("raw WebSocket client: no progress within " +
                     std::to_string(timeout_.count()) + " ms");
}

unsigned raw_ws_client::upgrade(std::uint16_t port, const std::string& target,
                                const std::vector<std::string>& extra_headers) {
    const asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
    if (auto ec = run_op([&](auto handler) { socket_.async_connect(endpoint, handler); })) {
        throw io_failure("raw connect: " + ec.message());
    }
    std::string request = "GET " + target + " HTTP/1.1\r\n" +
                                "Host: 127.0.0.1:" + std::to_string(port) + "\r\n" +
                                "Upgrade: websocket\r\n"
                                "Connection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n";
    for (const auto& header : extra_headers) {
        request += header + "\r\n";
    }
    request += "\r\n";
    if (auto ec = run_op([&](auto h) { asio::async_write(socket_, asio::buffer(request), h); })) {
        throw io_failure("raw write: " + ec.message());
    }
    std::string received;
    std::size_t head_size = 0;
    const auto ec = run_op([&](auto handler) {
        asio::async_read_until(socket_, asio::dynamic_buffer(received), "\r\n\r\n",
                               [&head_size, handler](error_code e, std::size_t n) mutable {
                                   head_size = n;
                                   handler(e, n);
                               });
    });
    if (ec) {
        throw io_failure("raw read of the upgrade answer: " + ec.message());
    }
    upgraded_at_ = std::chrono::steady_clock::now();
    pending_ = received.substr(head_size);
    answer_ = received.substr(0, head_size);
    // "HTTP/1.1 101 Switching Protocols"
    const auto space = received.find(' ');
    return static_cast<unsigned>(std::stoul(received.substr(space + 1, 3)));
}

std::string raw_ws_client::frame(int opcode, std::string_view payload, bool fin, bool rsv1) {
    std::string out;
    out.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode));
    const std::size_t n = payload.size();
    if (n < 126) {
        out.push_back(static_cast<char>(0x80 | n));
    } else if (n <= 0xffff) {
        out.push_back(static_cast<char>(0x80 | 126));
        out.push_back(static_cast<char>(n >> 8));
        out.push_back(static_cast<char>(n & 0xff));
    } else {
        out.push_back(static_cast<char>(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xff));
        }
    }
    const char key[4] = {'\x12', '\x34', '\x56', '\x78'};
    out.append(key, 4);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
    }
    return out;
}

void raw_ws_client::send(const std::string& bytes) {
    if (auto ec = run_op([&](auto h) { asio::async_write(socket_, asio::buffer(bytes), h); })) {
        throw io_failure("raw write: " + ec.message());
    }
}

raw_frame raw_ws_client::read_frame() {
    raw_frame f;
    char chunk[4096];
    while (!take_frame(pending_, f)) {
        std::size_t received = 0;
        const auto ec = run_op([&](auto handler) {
            socket_.async_read_some(asio::buffer(chunk),
                                    [&received, handler](error_code e, std::size_t n) mutable {
                                        received = n;
                                        handler(e, n);
                                    });
        });
        if (ec) {
            throw io_failure("raw read: " + ec.message());
        }
        pending_.append(chunk, received);
    }
    return f;
}

raw_session_end raw_ws_client::read_until_closed() {
    raw_session_end end;
    take_frames(pending_, end.opcodes);
    char chunk[4096];
    for (;;) {
        std::size_t received = 0;
        const auto ec = run_op([&](auto handler) {
            socket_.async_read_some(asio::buffer(chunk),
                                    [&received, handler](error_code e, std::size_t n) mutable {
                                        received = n;
                                        handler(e, n);
                                    });
        });
        if (ec) {
            end.error = ec;
            end.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - upgraded_at_);
            return end;
        }
        pending_.append(chunk, received);
        take_frames(pending_, end.opcodes);
    }
}

}  // namespace wsgate::test
