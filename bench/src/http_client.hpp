#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "event_loop.hpp"
#include "net.hpp"

namespace wsgate_bench {

struct http_response {
    int status = 0;
    std::string body;
};

// A POST request with a JSON body, keep-alive, with `Authorization: Bearer` when a key is given.
std::string json_post_request(const endpoint& to, const std::string& path, const std::string& body,
                              const std::string& api_key);

// One keep-alive HTTP/1.1 connection on the event loop with up to `max_in_flight` requests
// pipelined; responses come back in request order with the tag given to send().
class http_pipeline final : public io_handler {
  public:
    using response_handler = std::function<void(const http_response&, std::int64_t tag)>;
    using error_handler = std::function<void(const std::string&)>;

    http_pipeline(event_loop& loop, int max_in_flight, response_handler on_response,
                  error_handler on_error);
    ~http_pipeline();
    http_pipeline(const http_pipeline&) = delete;
    http_pipeline& operator=(const http_pipeline&) = delete;

    // Connects (blocking, bounded by the kernel's loopback connect); false with a message sent
    // to on_error when it fails.
    bool connect_to(const endpoint& to);
    bool can_send() const { return fd_ >= 0 && int(tags_.size()) < max_in_flight_; }
    int in_flight() const { return int(tags_.size()); }
    void send(const std::string& request, std::int64_t tag);

  private:
    void on_io(std::uint32_t events) override;
    void read_available();
    // Parses one complete response at the start of `incoming_`; false when incomplete.
    bool take_response(http_response& response);
    void flush();
    void fail(const std::string& error);

    event_loop& loop_;
    int max_in_flight_;
    response_handler on_response_;
    error_handler on_error_;
    int fd_ = -1;
    std::string outgoing_;
    std::string incoming_;
    std::deque<std::int64_t> tags_;
};

// A blocking GET with `Connection: close`, bounded by `timeout_ms`. Status 0 when it failed.
http_response http_get(const endpoint& to, const std::string& path, int timeout_ms);

}  // namespace wsgate_bench
