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
#include <wsgate/auth/channel_policy.hpp>
#include <wsgate/hub/subscriber.hpp>
#include <wsgate/limits/token_bucket.hpp>
#include <wsgate/session/ws_transport.hpp>
#include <wsgate/upstream/service.hpp>

namespace wsgate {

/// Who a new client is, as its upgrade request established.
struct ws_client {
    std::string user;                        ///< empty: anonymous (or not authenticated yet)
    std::vector<std::string> claims;         ///< channel patterns its token grants
    std::optional<std::int64_t> expires_at;  ///< its token's `exp`, Unix seconds
    /// No identity yet, and anonymous clients are not allowed: an `auth` must come first.
    bool must_authenticate = false;
    connection_slot slot;  ///< counts the connection against the limits while it lives
};

/// One client WebSocket connection: accepts the upgrade, reads and answers requests, and queues
/// events from the hub. Lives as long as its read loop; one io_context thread, no locks.
class ws_session : public std::enable_shared_from_this<ws_session>, public subscriber {
public:
    ws_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<shared_state> state,
               ws_client client);
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
    /// `auth` and `refresh`: a token that identifies the client or extends its time.
    void authenticate(const protocol::client_request& req);
    /// A `subscribe` the channel rules (and, when they say so, the webhook) allow.
    void subscribe(const protocol::client_request& req);
    void join(const std::string& channel, const std::optional<std::string>& id);
    /// A client's `publish` to a channel, when a rule allows it.
    void publish(const protocol::client_request& req);
    auth::client_identity identity() const { return {user_, claims_}; }
    /// Closes the connection with `code`/`text` after `delay` (the auth deadline, the token's
    /// expiry); replaces any earlier such timer.
    void close_after(std::chrono::milliseconds delay, close_reason why,
                     boost::beast::websocket::close_code code, std::string text);
    void arm_expiry();
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
    std::vector<std::string> claims_;        ///< channel patterns the client's token grants
    std::optional<std::int64_t> expires_at_;  ///< the token's exp (Unix seconds)
    bool must_authenticate_ = false;
    std::unique_ptr<boost::asio::steady_timer> auth_timer_;  ///< only for clients that need it
    std::uint32_t pending_checks_ = 0;  ///< subscribes waiting for the subscribe-check webhook
    connection_slot slot_;
    token_bucket messages_;        ///< the client's message rate
    std::uint32_t refused_ = 0;    ///< messages refused since the client was last within its rate
    bool registered_ = false;
};

}  // namespace wsgate
