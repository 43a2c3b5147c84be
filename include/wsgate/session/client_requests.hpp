#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include <wsgate/auth/channel_policy.hpp>
#include <wsgate/history/stream.hpp>
#include <wsgate/metrics/metrics.hpp>
#include <wsgate/protocol/client_message.hpp>

namespace wsgate {

class ws_session;
struct shared_state;

/// Close codes of the authentication rules (docs/protocol.md).
namespace close_code {
inline constexpr std::uint16_t auth_required = 4001;
inline constexpr std::uint16_t auth_failed = 4002;
inline constexpr std::uint16_t token_expired = 4003;
}  // namespace close_code

/// Who a client is: what its upgrade request (or a later `auth`) established.
struct client_identity_state {
    std::string user;                        ///< empty: anonymous (or not authenticated yet)
    std::vector<std::string> claims;         ///< channel patterns its token grants
    std::optional<std::int64_t> expires_at;  ///< its token's `exp`, Unix seconds
    /// No identity yet, and anonymous clients are not allowed: an `auth` must come first.
    bool must_authenticate = false;
};

/// The requests of wsgate's own client protocol on one connection (docs/protocol.md, "Client →
/// gateway"): each text message is parsed, checked against the channel rules and the client's
/// identity, and acted on — subscribe through the hub, publish to the bus, forward to a
/// service, take a token. It also keeps the token's lifetime.
///
/// The connection itself (reading, the queue, rate, deadlines, closing) is its ws_session's,
/// and every answer goes out through it. Part of the session: it lives as long as it does.
class client_requests {
public:
    client_requests(ws_session& session, shared_state& state, client_identity_state who);
    client_requests(const client_requests&) = delete;
    client_requests& operator=(const client_requests&) = delete;

    /// Handles one text message (already within the client's rate).
    void handle(std::string_view text);
    /// The connection is open: the token's expiry starts to count.
    void opened() { arm_expiry(); }
    /// The connection is gone: timers stop, services forget the client.
    void closed();

    /// What joining the user's stream answers: with user history (history.user_size) its
    /// position, and whether `recover` got every missed event (absent without one).
    using user_stream_answer =
        std::function<void(const std::optional<history::position>&, std::optional<bool>)>;
    /// Joins the client's user's stream: once events for the user reach this instance (the bus
    /// has the user's topic in force) and, with user history, once the stream is read, calls
    /// `answer`, then delivers what `recover` missed and what was held meanwhile. A stream that
    /// cannot be read closes the connection (1013): the client reconnects and recovers.
    void join_user(const std::optional<protocol::stream_position>& recover,
                   user_stream_answer answer);

    const std::string& user() const { return who_.user; }
    bool must_authenticate() const { return who_.must_authenticate; }

private:
    /// `auth` and `refresh`: a token that identifies the client or extends its time.
    void authenticate(const protocol::client_request& req);
    /// A `subscribe` the channel rules (and, when they say so, the webhook) allow.
    void subscribe(const protocol::client_request& req);
    void join(const std::string& channel, const std::optional<std::string>& id,
              const std::optional<protocol::stream_position>& recover);
    /// The ack of a subscribe to a channel with history, after reading it: its position, and
    /// with `recover` the missed events, then what was held meanwhile.
    void join_with_history(const std::string& channel, const std::optional<std::string>& id,
                           const std::optional<protocol::stream_position>& recover);
    /// Reads `topic`'s history once its subscription is in force, `answer`s (its position,
    /// and with `recover` whether every missed event is there) and releases the missed events
    /// and what `stream` held meanwhile; `unreadable` runs when the history cannot be read.
    void answer_from_history(
        const std::string& stream, const std::string& topic,
        const std::optional<protocol::stream_position>& recover,
        std::function<void(const history::position&, std::optional<bool>)> answer,
        std::function<void()> unreadable);
    void read_history(const protocol::client_request& req);
    void unsubscribe(const protocol::client_request& req);
    /// A client's `publish` to a channel, when a rule allows it.
    void publish(const protocol::client_request& req);
    /// A `send` to a backend service.
    void forward(const protocol::client_request& req);
    void reject(protocol::client_error code, const std::string& message,
                const std::optional<std::string>& id);
    auth::client_identity identity() const { return {who_.user, who_.claims}; }
    /// Closes the connection at the token's exp (plus leeway) unless refreshed.
    void arm_expiry();

    ws_session& session_;
    shared_state& state_;
    client_identity_state who_;
    std::unique_ptr<boost::asio::steady_timer> expiry_timer_;  ///< only with an expiring token
    std::uint32_t pending_checks_ = 0;  ///< subscribes waiting for the subscribe-check webhook
};

}  // namespace wsgate
