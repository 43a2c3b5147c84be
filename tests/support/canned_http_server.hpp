#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace wsgate::test {

/// An HTTP/1.1 server on 127.0.0.1 (a port of its own) that answers every request with the same
/// status and body, on keep-alive connections, from a thread of its own: a backend service or
/// webhook whose answer a test fixes byte for byte.
class canned_http_server {
  public:
    canned_http_server(unsigned status, std::string body,
                       std::string content_type = "application/json");
    ~canned_http_server();
    canned_http_server(const canned_http_server&) = delete;
    canned_http_server& operator=(const canned_http_server&) = delete;

    std::uint16_t port() const;
    /// Requests answered so far.
    std::size_t requests() const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace wsgate::test
