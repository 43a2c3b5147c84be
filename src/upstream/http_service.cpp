#include <wsgate/upstream/http_service.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <nlohmann/json.hpp>

#include <wsgate/json/json_reader.hpp>
#include <spdlog/spdlog.h>

#include <wsgate/support/deadline_resolver.hpp>
#include <wsgate/support/host_port.hpp>
#include <wsgate/upstream/signature.hpp>

namespace wsgate {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

// Replies larger than this are refused (the client would be sent all of it).
constexpr std::size_t max_reply_bytes = 1024 * 1024;

std::string json_quoted(std::string_view s) { return nlohmann::json(s).dump(); }

bool is_stale_keep_alive(const beast::error_code& ec) {
    return ec == http::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

}  // namespace

std::string webhook_body(const std::string& service_name, const client_message& m) {
    std::string body = "{\"service\":" + json_quoted(service_name) +
                       ",\"connection\":" + json_quoted(m.connection_id) +
                       ",\"user\":" + (m.user.empty() ? std::string("null") : json_quoted(m.user));
    if (m.id) body += ",\"id\":" + *m.id;
    body += ",\"data\":" + m.data + "}";
    return body;
}

/// One keep-alive connection to the service, running one job at a time.
class http_service::connection : public std::enable_shared_from_this<connection> {
public:
    connection(http_service& owner) : owner_(owner), stream_(owner.ex_), resolver_(owner.ex_) {}

    void run(job j) {
        job_ = std::move(j);
        reused_ = connected_;
        // The job's deadline bounds every step: resolving, connecting, sending, the answer.
        stream_.expires_at(job_.deadline);
        if (connected_) return send();
        const auto& cfg = owner_.config();
        resolver_.async_resolve(
            cfg.host, cfg.port, job_.deadline,
            [self = shared_from_this()](const beast::error_code& ec,
                                        const deadline_resolver::endpoints& hosts) {
                if (ec == net::error::timed_out) return self->fail(beast::error::timeout, "resolve");
                if (ec) return self->fail(ec, "resolve");
                self->connect(hosts);
            });
    }

    void close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
        connected_ = false;
    }

private:
    void connect(const deadline_resolver::endpoints& hosts) {
        stream_.async_connect(hosts, [self = shared_from_this()](beast::error_code ec,
                                                                 const tcp::endpoint&) {
            if (ec) return self->fail(ec, "connect");
            self->connected_ = true;
            beast::error_code ignored;
            self->stream_.socket().set_option(tcp::no_delay(true), ignored);
            self->send();
        });
    }

    void send() {
        const auto& cfg = owner_.config();
        const std::string timestamp = unix_timestamp();
        request_ = {http::verb::post, cfg.path, 11};
        request_.set(http::field::host, format_host_port(cfg.host, cfg.port, 80));
        request_.set(http::field::user_agent, "wsgate/" WSGATE_VERSION);
        request_.set(http::field::content_type, "application/json");
        request_.set("X-Wsgate-Timestamp", timestamp);
        request_.set("X-Wsgate-Signature", request_signature(cfg.secret, timestamp, job_.body));
        request_.keep_alive(true);
        request_.body() = job_.body;
        request_.prepare_payload();
        http::async_write(stream_, request_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->fail(ec, "send");
                              self->receive();
                          });
    }

    void receive() {
        parser_.emplace();
        parser_->body_limit(max_reply_bytes);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec) return self->fail(ec, "receive");
                             self->answered();
                         });
    }

    void answered() {
        auto response = parser_->release();
        const unsigned status = response.result_int();
        const auto& name = owner_.config().name;
        service_result r;
        if (status >= 200 && status < 300) {
            const auto& body = response.body();
            if (status != 204 && !body.empty()) {
                // The reply reaches the client exactly as the service wrote it.
                const auto max = owner_.config().json_max_depth;
                if (auto bad = json_input::check(body, max)) {
                    const bool deep = bad->what == json_input::fault::too_deep;
                    r = service_result::failed(
                        protocol::client_error::service_unavailable,
                        name + (deep ? " answered with JSON nested too deeply: " +
                                           protocol::too_deep_message(max)
                                     : " answered with something that is not JSON"));
                    r.too_deep = deep;
                } else {
                    r = {service_result::outcome::replied, std::string(json_input::trim(body)),
                         {}, {}};
                }
            }
        } else if (status >= 400 && status < 500) {
            r = service_result::failed(protocol::client_error::rejected,
                        name + " refused the message (HTTP " + std::to_string(status) + ")");
        } else {
            r = service_result::failed(protocol::client_error::service_unavailable,
                        name + " failed (HTTP " + std::to_string(status) + ")");
        }
        const bool reusable = response.keep_alive();
        if (!reusable) close();
        owner_.complete(job_, std::move(r));
        owner_.finished(shared_from_this(), job_.client, reusable);
    }

    void fail(const beast::error_code& ec, const char* what) {
        const auto& cfg = owner_.config();
        close();
        // A reused connection the service closed while idle: try once more on a new one.
        if (reused_ && !job_.retried && is_stale_keep_alive(ec)) {
            job_.retried = true;
            owner_.finished(shared_from_this(), job_.client, false);
            return owner_.retry(std::move(job_));
        }
        if (ec == beast::error::timeout)
            owner_.complete(job_, service_result::failed(protocol::client_error::timeout,
                                          cfg.name + " did not answer within " +
                                              std::to_string(cfg.timeout.count()) + " ms"));
        else
            owner_.complete(job_, service_result::failed(protocol::client_error::service_unavailable,
                                          cfg.name + " is unavailable (" + what + ": " +
                                              ec.message() + ")"));
        owner_.finished(shared_from_this(), job_.client, false);
    }

    http_service& owner_;
    beast::tcp_stream stream_;
    deadline_resolver resolver_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    std::optional<http::response_parser<http::string_body>> parser_;
    job job_;
    bool connected_ = false;
    bool reused_ = false;
};

http_service::http_service(net::any_io_executor ex, service_config cfg)
    : service(std::move(cfg)), ex_(std::move(ex)), expiry_(ex_) {}

http_service::~http_service() {
    for (auto& c : idle_) c->close();
}

void http_service::forward(client_message m, result_handler done) {
    job j{m.connection_id, webhook_body(cfg_.name, m), std::move(done),
          clock_type::now() + cfg_.timeout};
    if (waiting_.size() >= cfg_.max_pending) {
        return complete(j, service_result::failed(protocol::client_error::service_unavailable,
                                   cfg_.name + " has too many messages waiting"));
    }
    waiting_.push_back(std::move(j));
    dispatch();
}

void http_service::dispatch() {
    // Oldest first, skipping clients that already have a message at the service.
    for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (idle_.empty() && open_ >= cfg_.max_connections) break;
        if (busy_clients_.count(it->client) != 0) {
            ++it;
            continue;
        }
        std::shared_ptr<connection> c;
        if (!idle_.empty()) {
            c = std::move(idle_.back());
            idle_.pop_back();
        } else {
            c = std::make_shared<connection>(*this);
            ++open_;
        }
        busy_clients_.insert(it->client);
        job j = std::move(*it);
        it = waiting_.erase(it);
        c->run(std::move(j));
    }
    expire_waiting();
}

void http_service::finished(const std::shared_ptr<connection>& c, const std::string& client,
                            bool reusable) {
    busy_clients_.erase(client);
    if (reusable)
        idle_.push_back(c);
    else
        --open_;
    // Let the connection's handler unwind before it takes the next job.
    net::post(ex_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->dispatch();
    });
}

void http_service::retry(job j) {
    waiting_.push_front(std::move(j));
    net::post(ex_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->dispatch();
    });
}

void http_service::expire_waiting() {
    // Waiting jobs share one timeout, so the front one always expires first.
    const auto now = clock_type::now();
    while (!waiting_.empty() && waiting_.front().deadline <= now) {
        complete(waiting_.front(),
                 service_result::failed(protocol::client_error::timeout,
                         cfg_.name + " did not answer within " +
                             std::to_string(cfg_.timeout.count()) + " ms (all connections busy)"));
        waiting_.pop_front();
    }
    if (waiting_.empty() || expiry_armed_) return;
    expiry_armed_ = true;
    expiry_.expires_at(waiting_.front().deadline);
    expiry_.async_wait([weak = weak_from_this()](beast::error_code ec) {
        auto self = weak.lock();
        if (!self) return;
        self->expiry_armed_ = false;
        if (!ec) self->expire_waiting();
    });
}

void http_service::complete(job& j, service_result r) {
    // Never inside forward(): the caller may still be on its way out.
    net::post(ex_, [done = std::move(j.done), r = std::move(r)]() mutable { done(std::move(r)); });
}

}  // namespace wsgate
