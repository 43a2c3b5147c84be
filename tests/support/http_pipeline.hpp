#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "raw_socket.hpp"

namespace wsgate::test {

/// HTTP/1.1 pipelining on one keep-alive connection to 127.0.0.1:port: the test adds requests,
/// send() writes all of them in one write, receive() reads the answers back in order.
class http_pipeline {
  public:
    explicit http_pipeline(std::uint16_t port);

    /// Adds a request; Host is added, and Content-Length when there is a body.
    http_pipeline& add(const std::string& method, const std::string& target,
                       const std::string& body = {}, const header_list& headers = {});
    /// Adds `POST /api/v1/publish` of `event` (`Content-Type: application/json`).
    http_pipeline& publish(const nlohmann::json& event, const header_list& headers = {});
    /// Adds bytes as they are: a malformed request, or one built by hand.
    http_pipeline& add_raw(std::string bytes);

    /// Writes every request added since the last send() in one write; throws io_failure when
    /// the write fails.
    void send();
    /// Reads answers, in order, until `count` have arrived, the connection ends or `timeout`
    /// passes; returns those that arrived.
    std::vector<http_response> receive(std::size_t count,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// True when the server ends the connection within `timeout` (after what was received).
    bool ends(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    raw_socket& socket() { return socket_; }

  private:
    raw_socket socket_;
    std::uint16_t port_;
    std::string unsent_;
    std::deque<bool> heads_;  ///< for each request not yet answered: whether it is a HEAD
};

}  // namespace wsgate::test
