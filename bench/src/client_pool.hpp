#pragma once

#include <memory>
#include <string>
#include <vector>

#include "context.hpp"
#include "delivery_tracker.hpp"
#include "ws_conn.hpp"

namespace wsgate_bench {

// How a pool's client joins: it is ready after its welcome frame (`welcome`), once its subscribe
// to channel `<prefix><i % channels>` is acknowledged (`subscribe`), or acknowledged with
// "recovered":true for a subscribe that recovers the channel from its first event (`recover`).
enum class join { welcome, subscribe, recover };

// `size` WebSocket clients spread round robin over the WebSocket endpoints, at most
// `max_connecting` handshakes at once, each joining as `how`. Events go to the tracker (when
// given); any close or error frame, or a recovery refused, counts as a failure.
class client_pool final : public ws_conn_listener {
  public:
    client_pool(event_loop& loop, const bench_context& context, int size, join how,
                delivery_tracker* tracker);

    // Starts as many new connections as the handshake limit allows.
    void pump();
    bool settled() const { return ready_ + failures_ >= size(); }
    int size() const { return int(conns_.size()); }
    int ready() const { return ready_; }
    long failures() const { return failures_; }
    const std::string& first_error() const { return first_error_; }
    void close_all();

    void on_open(ws_conn& conn) override;
    void on_text(ws_conn& conn, std::string_view text) override;
    void on_closed(ws_conn& conn, const std::string& error) override;

  private:
    void mark_ready(ws_conn& conn);
    void note_failure(const std::string& error);

    const bench_context& context_;
    join how_;
    delivery_tracker* tracker_;
    std::vector<std::unique_ptr<ws_conn>> conns_;
    std::vector<char> is_ready_;
    int started_ = 0;
    int handshaking_ = 0;
    int ready_ = 0;
    long failures_ = 0;
    std::string first_error_;
};

// The subscribe request every bench client sends (id 1); with `recover`, asking for the
// channel's events from its first one (a client that saw it before it had any event).
std::string subscribe_request(const bench_context& context, int client_index,
                              bool recover = false);

// Joins a pool's connection failures into `out`, naming the first error.
void report_pool_failures(const client_pool& pool, const std::string& what, report& out);

}  // namespace wsgate_bench
