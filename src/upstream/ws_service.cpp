#include <wsgate/protocol/server_message.hpp>
#include <wsgate/support/deadline_resolver.hpp>
#include <wsgate/support/host_port.hpp>
#include <wsgate/upstream/http_service.hpp>
#include <wsgate/upstream/signature.hpp>
#include <wsgate/upstream/ws_service.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <nlohmann/json.hpp>

#include <wsgate/json/json_reader.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
#include <optional>

namespace wsgate {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

/// The client frame for one text frame the service sent down (docs/services.md). JSON the
/// service wrote reaches the client exactly as written; text that is not JSON as a string.
std::string client_text_for(const std::string& service_name, const std::string& frame,
                            std::size_t max_depth) {
    namespace in = json_input;
    auto read = in::read_object(frame, max_depth + 1);
    if (const auto* j = std::get_if<in::object>(&read)) {
        const auto* data = j->find("data");
        const std::string_view data_text = data != nullptr ? data->value.text : "null";
        if (const auto* id = j->find("id"))
            return protocol::reply_message(id->value.text, service_name, data_text);
        if (data != nullptr) return protocol::service_message(service_name, data_text);
        return protocol::service_message(service_name, in::trim(frame));
    }
    const auto& bad = std::get<in::error>(read);
    if (bad.what == in::fault::too_deep)
        return protocol::error_message(std::nullopt, "service_unavailable",
                                       service_name + " sent a message nested too deeply: " +
                                           protocol::too_deep_message(max_depth));
    // JSON that is not an object (an array, a number, ...) goes as it is.
    if (bad.what == in::fault::wrong_type) return protocol::service_message(service_name, in::trim(frame));
    return protocol::service_message(service_name, nlohmann::json(frame).dump(
                                                       -1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace));
}

}  // namespace

/// One client's WebSocket to the service: connects, then writes the client's messages one at a
/// time and passes what the service sends down to the client. Pending async operations hold a
/// shared_ptr to it; it refers to its service only weakly.
class ws_service::upstream : public std::enable_shared_from_this<upstream> {
  public:
    upstream(const std::shared_ptr<ws_service>& owner, std::string connection, std::string user)
        : owner_(owner),
          cfg_(owner->config()),
          push_(owner->push_),
          open_(owner->open_),
          connection_(std::move(connection)),
          user_(std::move(user)),
          resolver_(owner->ex_),
          ws_(owner->ex_),
          connect_timer_(owner->ex_) {
        ++*open_;
    }
    // Its socket goes with it: the service's count goes down.
    ~upstream() { --*open_; }

    /// Resolves, connects and handshakes, within cfg.timeout.
    void start() {
        const auto deadline = std::chrono::steady_clock::now() + cfg_.timeout;
        connect_timer_.expires_at(deadline);
        connect_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec || self->state_ != state::connecting) return;
            self->timed_out_ = true;
            self->resolver_.cancel();
            beast::get_lowest_layer(self->ws_).close();
        });
        resolver_.async_resolve(
            cfg_.host, cfg_.port, deadline,
            [self = shared_from_this()](const beast::error_code& ec,
                                        const deadline_resolver::endpoints& hosts) {
                if (ec) return self->connect_failed(ec, "resolve");
                self->connect(hosts);
            });
    }

    /// Queues one frame; `done` runs once it is written or cannot be, never inside this call.
    void enqueue(std::string body, result_handler done) {
        if (queue_.size() >= cfg_.max_pending) {
            net::post(ws_.get_executor(),
                      [done = std::move(done),
                       r = service_result::failed(protocol::client_error::service_unavailable,
                                   cfg_.name + " has too many messages waiting")]() mutable {
                          done(std::move(r));
                      });
            return;
        }
        queue_.push_back({std::move(body), std::move(done)});
        // Writes start from a handler, so `done` cannot run inside this call.
        if (state_ == state::open && !writing_)
            net::post(ws_.get_executor(), [self = shared_from_this()] { self->write_next(); });
    }

    /// The client left: close with 1000 (or stop connecting), fail what was not written.
    void close() {
        if (state_ == state::closed || state_ == state::closing) return;
        const bool was_open = state_ == state::open;
        state_ = was_open ? state::closing : state::closed;
        fail_queued(writing_ ? 1 : 0, cfg_.name + ": the client left");
        if (!was_open) {
            connect_timer_.cancel();
            resolver_.cancel();
            beast::get_lowest_layer(ws_).close();
            return;
        }
        ws_.async_close(websocket::close_code::normal,
                        [self = shared_from_this()](beast::error_code ec) {
                            if (ec)
                                spdlog::debug("service {}: upstream of {}: close: {}",
                                              self->cfg_.name, self->connection_, ec.message());
                            self->state_ = state::closed;
                        });
    }

    /// The service is going away: drop the connection at once.
    void abort() {
        state_ = state::closed;
        fail_queued(writing_ ? 1 : 0, cfg_.name + " is shutting down");
        connect_timer_.cancel();
        resolver_.cancel();
        beast::get_lowest_layer(ws_).close();
    }

  private:
    enum class state { connecting, open, closing, closed };
    struct pending {
        std::string body;
        result_handler done;
    };

    void connect(const deadline_resolver::endpoints& hosts) {
        beast::get_lowest_layer(ws_).async_connect(
            hosts, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                if (ec) return self->connect_failed(ec, "connect");
                self->handshake();
            });
    }

    void handshake() {
        if (state_ != state::connecting)
            return connect_failed(net::error::operation_aborted, "connect");
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
        const std::string timestamp = unix_timestamp();
        const std::string signature =
            upstream_handshake_signature(cfg_.secret, timestamp, connection_, user_);
        ws_.set_option(
            websocket::stream_base::decorator([timestamp, signature, connection = connection_,
                                               user = user_](websocket::request_type& req) {
                req.set(http::field::user_agent, "wsgate/" WSGATE_VERSION);
                req.set("X-Wsgate-Connection", connection);
                req.set("X-Wsgate-User", user);
                req.set("X-Wsgate-Timestamp", timestamp);
                req.set("X-Wsgate-Signature", signature);
            }));
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = cfg_.timeout;  // bounds the closing handshake too
        timeouts.idle_timeout = websocket::stream_base::none();
        timeouts.keep_alive_pings = false;
        ws_.set_option(timeouts);
        ws_.read_message_max(cfg_.max_bytes + 4096);
        ws_.async_handshake(response_, format_host_port(cfg_.host, cfg_.port, 80), cfg_.path,
                            [self = shared_from_this()](beast::error_code ec) {
                                if (ec) return self->connect_failed(ec, "handshake");
                                self->opened();
                            });
    }

    void opened() {
        connect_timer_.cancel();
        if (state_ != state::connecting) return;  // the client left meanwhile
        state_ = state::open;
        ws_.text(true);
        read_next();
        write_next();
    }

    void connect_failed(const beast::error_code& ec, const char* what) {
        connect_timer_.cancel();
        if (state_ != state::connecting) return;  // closed on purpose; nothing is waiting
        state_ = state::closed;
        beast::get_lowest_layer(ws_).close();
        std::string message;
        auto code = protocol::client_error::service_unavailable;
        if (timed_out_ || ec == beast::error::timeout || ec == net::error::timed_out) {
            code = protocol::client_error::timeout;
            message = cfg_.name + " did not accept the connection within " +
                      std::to_string(cfg_.timeout.count()) + " ms";
        } else if (ec == websocket::error::upgrade_declined) {
            message = cfg_.name + " refused the connection (HTTP " +
                      std::to_string(response_.result_int()) + ")";
        } else {
            message = cfg_.name + " is unavailable (" + what + ": " + ec.message() + ")";
        }
        spdlog::debug("service {}: upstream of {}: {}", cfg_.name, connection_, message);
        fail_queued(0, message, code);
        drop();
    }

    void write_next() {
        if (state_ != state::open || writing_ || queue_.empty()) return;
        writing_ = true;
        ws_.async_write(
            net::buffer(queue_.front().body),
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
    }

    void on_write(const beast::error_code& ec) {
        writing_ = false;
        if (queue_.empty()) return;  // failed meanwhile (the client left)
        pending written = std::move(queue_.front());
        queue_.pop_front();
        if (ec) {
            written.done(service_result::failed(protocol::client_error::service_unavailable,
                                 cfg_.name + " closed the connection (" + ec.message() + ")"));
            return lost(ec);
        }
        // Directly, not posted: the ack goes out before any answer read after it.
        written.done(service_result{});
        write_next();
    }

    void read_next() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->lost(ec);
            self->received();
        });
    }

    void received() {
        const std::string frame = beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
        if (state_ == state::open) push_(connection_, client_text_for(cfg_.name, frame, cfg_.json_max_depth));
        read_next();
    }

    /// The open connection closed or failed: tell the client once, fail what waits, drop it.
    void lost(const beast::error_code& ec) {
        if (state_ != state::open) {
            state_ = state::closed;
            return;
        }
        state_ = state::closed;
        spdlog::debug("service {}: upstream of {} lost: {}", cfg_.name, connection_, ec.message());
        beast::get_lowest_layer(ws_).close();
        fail_queued(writing_ ? 1 : 0, cfg_.name + " closed the connection");
        push_(connection_, protocol::error_message(std::nullopt, "service_unavailable",
                                                   cfg_.name + " closed the connection"));
        drop();
    }

    /// Fails every queued message from index `from` (the one being written stays).
    void fail_queued(std::size_t from, const std::string& message,
                     protocol::client_error code = protocol::client_error::service_unavailable) {
        std::deque<pending> failed;
        while (queue_.size() > from) {
            failed.push_front(std::move(queue_.back()));
            queue_.pop_back();
        }
        for (auto& p : failed) {
            net::post(ws_.get_executor(),
                      [done = std::move(p.done), r = service_result::failed(code, message)]() mutable {
                          done(std::move(r));
                      });
        }
    }

    /// Forgets this upstream in its service, so that the client's next send opens a new one.
    void drop() {
        if (auto owner = owner_.lock()) {
            const auto it = owner->upstreams_.find(connection_);
            if (it != owner->upstreams_.end() && it->second.get() == this)
                owner->upstreams_.erase(it);
        }
    }

    std::weak_ptr<ws_service> owner_;
    const service_config cfg_;
    const push_function push_;
    const std::shared_ptr<std::size_t> open_;
    const std::string connection_;
    const std::string user_;
    deadline_resolver resolver_;
    websocket::stream<beast::tcp_stream> ws_;
    net::steady_timer connect_timer_;
    websocket::response_type response_;
    beast::flat_buffer buffer_;
    std::deque<pending> queue_;  ///< front is being written when writing_
    state state_ = state::connecting;
    bool writing_ = false;
    bool timed_out_ = false;
};

ws_service::ws_service(net::any_io_executor ex, service_config cfg, push_function push)
    : service(std::move(cfg)), ex_(std::move(ex)), push_(std::move(push)) {}

ws_service::~ws_service() {
    for (auto& [connection, up] : upstreams_) up->abort();
}

void ws_service::forward(client_message m, result_handler done) {
    auto found = upstreams_.find(m.connection_id);
    const bool fresh = found == upstreams_.end();
    if (fresh && *open_ >= cfg_.max_connections) {
        // Upstreams still closing count too: each holds a socket until it is gone.
        const auto busy = service_result::failed(
            protocol::client_error::service_busy,
            cfg_.name + " is busy: at most " + std::to_string(cfg_.max_connections) +
                " connections to it may be open (max_connections); try again later");
        net::post(ex_, [done = std::move(done), busy]() mutable { done(busy); });
        return;
    }
    if (fresh)
        found = upstreams_
                    .emplace(m.connection_id,
                             std::make_shared<upstream>(shared_from_this(), m.connection_id,
                                                        m.user))
                    .first;
    const auto keep = found->second;  // start() may not drop it, but enqueue before it runs anyway
    keep->enqueue(webhook_body(cfg_.name, m), std::move(done));
    if (fresh) keep->start();
}

void ws_service::client_left(const std::string& connection_id) {
    const auto it = upstreams_.find(connection_id);
    if (it == upstreams_.end()) return;
    const auto up = std::move(it->second);
    upstreams_.erase(it);
    up->close();
}

}  // namespace wsgate
