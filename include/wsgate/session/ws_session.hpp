#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <wsgate/app/shared_state.hpp>
#include <wsgate/hub/subscriber.hpp>
#include <wsgate/limits/token_bucket.hpp>
#include <wsgate/session/ws_transport.hpp>
#include <wsgate/upstream/service.hpp>

namespace wsgate {

/// One client WebSocket connection: accepts the upgrade, reads and answers requests, and queues
/// events from the hub. Lives as long as its read loop; one io_context thread, no locks.
class ws_session : public std::enable_shared_from_this<ws_session>, public subscriber {
public:
    /// `slot` counts the connection against the limits until the session goes away.
    ws_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<shared_state> state,
               std::string user, connection_slot slot);
    ~ws_session() override;

    /// Completes the WebSocket handshake for `request` (already read), then starts reading.
    void start(boost::beast::http::request<boost::beast::http::string_body> request);

    void deliver(const frame_ptr& frame) override;
    void go_away(std::chrono::milliseconds close_in,
                 std::chrono::milliseconds reconnect_after) override;

private:
    void on_accept(boost::beast::error_code ec);
    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t n);
    void handle_request(std::string_view text);
    /// Takes a token for one client message; false when the message must be refused.
    bool within_rate();
    /// Runs `then` once the bus delivers `topic` here (unless the session is gone by then).
    void after_subscribed(const std::string& topic, std::function<void(ws_session&)> then);
    /// A `send` to a backend service.
    void forward(const protocol::client_request& req);
    void reject(protocol::client_error code, const std::string& message,
                const std::optional<std::string>& id);
    void send(const std::string& json);
    void close(close_reason why, const boost::beast::websocket::close_reason& frame);
    void finish(boost::beast::error_code ec);

    boost::beast::websocket::stream<ws_transport> ws_;
    boost::beast::flat_buffer buffer_;
    std::shared_ptr<shared_state> state_;
    std::string id_;
    std::string user_;
    std::unique_ptr<boost::asio::steady_timer> go_away_timer_;
    std::optional<close_reason> close_reason_;  ///< set when the gateway starts the close
    connection_slot slot_;
    token_bucket messages_;        ///< the client's message rate
    std::uint32_t refused_ = 0;    ///< messages refused since the client was last within its rate
    bool registered_ = false;
};

}  // namespace wsgate
