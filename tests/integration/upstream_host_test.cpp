// The Host header wsgate sends to a service (RFC 9112 3.2, RFC 3986 3.2.2): host, then the port
// unless it is the scheme's default (80 for http:// and ws://), an IPv6 address in brackets.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "chat_rig.hpp"
#include "gateway_process.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

/// Listens on `address` (IPv4 or IPv6) and `port` (0: any free one), takes one connection,
/// keeps the head of the request it sends, answers 204 and closes: a service that shows what
/// it was sent. Its thread gives up after 10 s.
class head_catcher {
  public:
    head_catcher(const std::string& address, std::uint16_t port) {
        const bool v6 = address.find(':') != std::string::npos;
        fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
        const int on = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        sockaddr_storage storage{};
        socklen_t length = 0;
        if (v6) {
            auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
            a->sin6_family = AF_INET6;
            a->sin6_port = htons(port);
            ::inet_pton(AF_INET6, address.c_str(), &a->sin6_addr);
            length = sizeof *a;
        } else {
            auto* a = reinterpret_cast<sockaddr_in*>(&storage);
            a->sin_family = AF_INET;
            a->sin_port = htons(port);
            ::inet_pton(AF_INET, address.c_str(), &a->sin_addr);
            length = sizeof *a;
        }
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
            ::listen(fd_, 4) != 0) {
            error_ = std::strerror(errno);
            return;
        }
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &length);
        port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                         : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
        thread_ = std::thread([this] { serve_one(); });
    }
    ~head_catcher() {
        if (thread_.joinable()) thread_.join();
        ::close(fd_);
    }
    /// Why it could not listen ("" when it does).
    const std::string& error() const { return error_; }
    std::uint16_t port() const { return port_; }
    /// The Host header of the request, once it came (waits for the thread).
    std::optional<std::string> host() {
        if (thread_.joinable()) thread_.join();
        const std::string name = "\r\nHost: ";
        const auto at = head_.find(name);
        if (at == std::string::npos) return std::nullopt;
        const auto end = head_.find("\r\n", at + name.size());
        return head_.substr(at + name.size(), end - at - name.size());
    }
    const std::string& head() const { return head_; }

  private:
    void serve_one() {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        const auto left = [&] {
            return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        deadline - std::chrono::steady_clock::now())
                                        .count());
        };
        pollfd listening{fd_, POLLIN, 0};
        if (::poll(&listening, 1, std::max(left(), 0)) != 1) return;
        const int conn = ::accept(fd_, nullptr, nullptr);
        if (conn < 0) return;
        while (head_.find("\r\n\r\n") == std::string::npos && left() > 0) {
            pollfd in{conn, POLLIN, 0};
            if (::poll(&in, 1, left()) != 1) break;
            char buffer[4096];
            const auto n = ::read(conn, buffer, sizeof buffer);
            if (n <= 0) break;
            head_.append(buffer, static_cast<std::size_t>(n));
        }
        const std::string answer =
            "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        [[maybe_unused]] const auto written = ::write(conn, answer.data(), answer.size());
        ::close(conn);
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::string error_;
    std::string head_;
    std::thread thread_;
};

/// Starts a gateway whose service `chatbot` is at `url`, sends to it once and returns the Host
/// header `catcher` saw.
std::optional<std::string> host_sent(head_catcher& catcher, const std::string& transport,
                                     const std::string& url) {
    gateway_process gw({"--services", json{{"chatbot",
                                            {{"transport", transport},
                                             {"url", url},
                                             {"secret", chat_secret},
                                             {"timeout_ms", 2000}}}}
                                          .dump()});
    ws_client client;
    client.connect(gw.public_port());
    client.send_json(send_frame("hello", 1));
    client.read_json();  // ack (http: 204) or an error (websocket: the upgrade was declined)
    const auto host = catcher.host();
    EXPECT_TRUE(host) << "no Host header in:\n" << catcher.head();
    return host;
}

TEST(upstream_host, http_service_host_header_carries_a_port_that_is_not_80) {
    head_catcher catcher("127.0.0.1", 0);
    ASSERT_EQ(catcher.error(), "");
    const std::string authority = "127.0.0.1:" + std::to_string(catcher.port());
    EXPECT_EQ(host_sent(catcher, "http", "http://" + authority + "/chat"), authority);
}

TEST(upstream_host, ipv6_services_are_reached_with_the_address_in_brackets) {
    for (const char* transport : {"http", "websocket"}) {
        SCOPED_TRACE(transport);
        head_catcher catcher("::1", 0);
        ASSERT_EQ(catcher.error(), "");
        const std::string authority = "[::1]:" + std::to_string(catcher.port());
        const std::string scheme = std::string(transport) == "http" ? "http://" : "ws://";
        EXPECT_EQ(host_sent(catcher, transport, scheme + authority + "/up"), authority);
    }
}

TEST(upstream_host, port_80_is_left_out_for_both_transports) {
    for (const char* transport : {"http", "websocket"}) {
        SCOPED_TRACE(transport);
        head_catcher catcher("127.0.0.1", 80);
        if (!catcher.error().empty()) GTEST_SKIP() << "cannot listen on port 80: " << catcher.error();
        const std::string scheme = std::string(transport) == "http" ? "http://" : "ws://";
        EXPECT_EQ(host_sent(catcher, transport, scheme + "127.0.0.1/up"), "127.0.0.1");
    }
}

}  // namespace
}  // namespace wsgate::test
