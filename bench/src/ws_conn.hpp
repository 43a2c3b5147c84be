#pragma once

#include <string>
#include <string_view>

#include "event_loop.hpp"
#include "net.hpp"
#include "ws_frame.hpp"

namespace wsgate_bench {

class ws_conn;

// Callbacks run inside the connection's event handling: they may send or close, but must not
// start() the connection again (do that from the main loop).
class ws_conn_listener {
  public:
    virtual void on_open(ws_conn& conn) = 0;
    virtual void on_text(ws_conn& conn, std::string_view text) = 0;
    // `error` is empty after a close this side asked for; otherwise it says what happened.
    virtual void on_closed(ws_conn& conn, const std::string& error) = 0;

  protected:
    ~ws_conn_listener() = default;
};

// One client WebSocket on the event loop: non-blocking connect, HTTP upgrade, frames.
// Reads in 64 KiB chunks and parses every frame in them; answers pings; masks what it sends.
class ws_conn final : public io_handler {
  public:
    enum class state { idle, connecting, upgrading, open, closing };

    ws_conn(event_loop& loop, ws_conn_listener& listener, int index);
    ~ws_conn();
    ws_conn(const ws_conn&) = delete;
    ws_conn& operator=(const ws_conn&) = delete;

    // Starts connecting; returns false (and reports on_closed) when the socket cannot be made.
    bool start(const endpoint& to, const in_addr* source);
    void send_text(std::string_view text);
    // Sends a close frame (1000) and reports on_closed("") once the server answers or hangs up.
    void close_gracefully();
    // Drops the connection without a close handshake and without reporting.
    void abort();

    int index() const { return index_; }
    state current_state() const { return state_; }

  private:
    void on_io(std::uint32_t events) override;
    void finish_connect();
    void read_available();
    void on_bytes(const char* data, std::size_t size);
    void on_upgrade_bytes(const char* data, std::size_t size);
    void on_frame(std::uint8_t opcode, std::string_view payload);
    void send_bytes(std::string_view bytes);
    void flush();
    void finish(const std::string& error);

    event_loop& loop_;
    ws_conn_listener& listener_;
    int index_;
    int fd_ = -1;
    state state_ = state::idle;
    std::string request_;   // the upgrade request, until the response arrives
    std::string response_;  // the upgrade response so far
    std::string outgoing_;  // bytes the socket did not take yet
    frame_reader reader_;
};

}  // namespace wsgate_bench
