#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "options.hpp"

namespace wsgate_bench {

// Publishes events seq = 0, 1, … over REST: one per request or `batch` per request, up to
// `inflight` requests pipelined on each of `api_connections` keep-alive connections, paced at
// `rate` requests per second or as fast as the server answers. Event seq goes to channel
// `<prefix><seq % channels>`.
class publisher {
  public:
    using accepted_handler = std::function<void(long seq)>;

    publisher(event_loop& loop, const bench_options& options, const endpoint& api,
              std::string channel_prefix, long event_limit, accepted_handler on_accepted);

    bool connect();
    // Sends every request that pacing and the pipelines allow now; starts the clock on first use.
    void pump();
    // When pump() should run next for pacing; 0 when it need not wake the loop.
    std::int64_t next_send_ns() const;
    void stop() { event_limit_ = next_seq_; }
    // Every event sent and answered (or a failure).
    bool finished() const;

    long events_accepted() const { return events_accepted_; }
    long requests_sent() const { return requests_sent_; }
    std::int64_t first_send_ns() const { return start_ns_; }
    std::int64_t last_answer_ns() const { return last_answer_ns_; }
    const std::string& error() const { return error_; }

  private:
    std::string request_body(long first_seq, int count, int stream) const;
    void on_response(const http_response& response, std::int64_t tag);
    void on_error(const std::string& error);
    // Index of a pipeline with room for another request, round robin; -1 when none.
    int free_pipeline();

    const bench_options& options_;
    endpoint api_;
    std::string channel_prefix_;
    long event_limit_;
    accepted_handler on_accepted_;
    std::vector<std::unique_ptr<http_pipeline>> pipelines_;
    std::size_t next_pipeline_ = 0;
    long next_seq_ = 0;
    long requests_sent_ = 0;
    long events_accepted_ = 0;
    std::int64_t start_ns_ = 0;
    std::int64_t last_answer_ns_ = 0;
    std::string error_;
};

}  // namespace wsgate_bench
