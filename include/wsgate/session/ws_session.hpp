#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <wsgate/app/shared_state.hpp>
#include <wsgate/hub/subscriber.hpp>
#include <wsgate/limits/token_bucket.hpp>
#include <wsgate/session/client_requests.hpp>
#include <wsgate/session/held_events.hpp>
#include <wsgate/session/session_sweeper.hpp>
#include <wsgate/session/ws_frame_parser.hpp>
#include <wsgate/session/ws_transport.hpp>

namespace wsgate {

/// Who a new client is, as its upgrade request established.
struct ws_client {
    std::string user;                        ///< empty: anonymous (or not authenticated yet)
    std::vector<std::string> claims;         ///< channel patterns its token grants
    std::optional<std::int64_t> expires_at;  ///< its token's `exp`, Unix seconds
    /// No identity yet, and anonymous clients are not allowed: an `auth` must come first.
    bool must_authenticate = false;
    /// ?recover_epoch=&recover_offset=: the position of the user's stream it saw last.
    std::optional<protocol::stream_position> recover;
    connection_slot slot;  ///< counts the connection against the limits while it lives
    std::unique_ptr<tls_engine> tls;  ///< its TLS state after the handshake (wss); null: ws
};
/// WebSocket close codes the gateway sends (RFC 6455 7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t too_big = 1009;
inline constexpr std::uint16_t try_again_later = 1013;
}  // namespace close_code

/// One client WebSocket connection's life: accepts the upgrade, reads frames, queues what goes
/// out (events from the hub, answers), keeps the rate, the queue budget and each phase's
/// deadline, and closes. What the client's text messages ask for is client_requests' job.
/// Lives as long as its read loop; one io_context thread, no locks.
///
/// The WebSocket layer is wsgate's own (RFC 6455, and RFC 7692 permessage-deflate without
/// context takeover): the handshake and frame parsing are I/O-free (ws_handshake,
/// ws_frame_parser), every byte written goes through the ws_transport queue, and an idle
/// connection holds no read buffer and no timer. It waits for readability, reads into a buffer
/// shared by the thread, and keeps bytes only while a message is incomplete; one
/// session_sweeper per process pings quiet clients, drops silent ones, and bounds close
/// handshakes.
class ws_session : public std::enable_shared_from_this<ws_session>,
                   public subscriber,
                   private session_sweeper::member {
public:
    ws_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<shared_state> state,
               ws_client client);
    ~ws_session() override;

    /// Completes the WebSocket handshake for `request` (already read), then starts reading:
    /// first `early_input`, the bytes that were read with the request beyond its end (the
    /// client's first frames), then the socket.
    void start(boost::beast::http::request<boost::beast::http::string_body> request,
               std::string_view early_input = {});

    void deliver(const frame_ptr& frame) override;
    void deliver_event(const std::string& channel, const history::position& at,
                       const frame_ptr& frame) override;
    void go_away(std::chrono::milliseconds close_in,
                 std::chrono::milliseconds reconnect_after) override;

    /// Starts the close handshake: queues a close frame with `code` and `reason` (at most 123
    /// bytes) after what is already queued, stops handling the client's messages, and ends the
    /// connection once the client answers (or after timeouts.handshake). `why` is what
    /// wsgate_closes_total counts. A no-op once a close has begun.
    void close(close_reason why, std::uint16_t code, std::string_view reason = {});

    // ---- for client_requests: the connection as its requests see it ----

    const std::string& id() const { return id_; }
    /// A close has begun: requests are no longer answered.
    bool closing() const { return close_reason_.has_value(); }
    /// Registered in the hub (from the upgrade until the connection ends).
    bool registered() const { return registered_; }
    boost::asio::any_io_executor get_executor() { return transport_.get_executor(); }
    /// Queues a JSON text frame for the client.
    void send(const std::string& json);
    /// Sends the welcome (once): the connection is open for requests. With the user's stream,
    /// its position and whether a `recover` got every missed event.
    void welcome(const std::optional<history::position>& user_stream = std::nullopt,
                 std::optional<bool> recovered = std::nullopt);
    /// Runs `then` once the bus delivers `topic` here (unless the session is gone by then).
    void after_subscribed(const std::string& topic, std::function<void(ws_session&)> then);
    /// Holds `channel`'s live events while its history is read (held_events).
    void hold(const std::string& channel) { held_.hold(channel); }
    /// Queues `replay` (events the history gave), then the held live events after `top`, and
    /// stops holding the channel.
    void release(const std::string& channel, const std::vector<frame_ptr>& replay,
                 const history::position& top);
    /// Stops holding `channel` and drops what it held.
    void drop_held(const std::string& channel) { held_.drop(channel); }

private:
    class frame_sink;
    friend class frame_sink;

    enum class phase : std::uint8_t {
        opening,       ///< upgraded; not reading until the welcome is queued
        open,          ///< reading requests
        closing,       ///< our close frame is queued; reading until the client's arrives
        tearing_down,  ///< flushing, half-closed, draining input until the client closes
        done,
    };

    void on_accept();
    void do_read();
    void on_read(boost::beast::error_code ec);
    /// Takes a token for one client message; false when the message must be refused.
    bool within_rate();
    /// Queues a text frame, compressed when the client negotiated permessage-deflate.
    void queue(const frame_ptr& frame);
    /// Queues any frame but the close frame, unless the client is behind by more than
    /// limits.max_queue_bytes: then it is closed as a slow consumer instead.
    void push(frame_ptr frame);
    /// Closes a client that is behind (1008 "slow consumer"), freeing its backlog.
    void close_slow_consumer();
    /// The client broke the protocol (or sent its close frame): answer with a close frame
    /// unless one went already, then flush and end the connection.
    void fail(close_reason why, std::uint16_t code, std::string_view reason);
    void tear_down();
    /// Ends the connection at once, without a close frame.
    void abort(close_reason why);
    void finish(boost::beast::error_code ec);
    void on_sweep(session_sweeper::tick now) override;

    ws_transport transport_;
    ws_frame_parser parser_;
    std::shared_ptr<shared_state> state_;
    std::string id_;
    std::unique_ptr<boost::asio::steady_timer> go_away_timer_;
    client_requests requests_;
    std::optional<protocol::stream_position> recover_;  ///< the upgrade's, until the welcome
    held_events held_;  ///< live events of channels whose history is being read
    connection_slot slot_;
    token_bucket messages_;        ///< the client's message rate
    std::uint32_t refused_ = 0;    ///< messages refused since the client was last within its rate
    std::optional<close_reason> close_reason_;  ///< set when the connection starts to close
    session_sweeper::tick last_heard_ = 0;      ///< when the client last sent anything
    session_sweeper::tick phase_since_ = 0;     ///< when the current phase began
    session_sweeper::tick opened_at_ = 0;       ///< when the upgrade request was answered
    phase phase_ = phase::opening;
    std::uint8_t deflate_bits_ = 0;  ///< server window of permessage-deflate; 0: not negotiated
    bool ping_sent_ = false;         ///< a heartbeat ping is unanswered
    bool welcomed_ = false;          ///< the welcome was sent
    bool read_pending_ = false;
    bool registered_ = false;
};

}  // namespace wsgate
