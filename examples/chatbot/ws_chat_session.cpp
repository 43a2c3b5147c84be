#include "ws_chat_session.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <list>
#include <memory>

#include "bot.hpp"

namespace chatbot {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;

/// Largest frame (the gateway's largest max_bytes plus the envelope).
constexpr std::size_t max_frame_bytes = 17 * 1024 * 1024;

/// One upstream WebSocket from the gateway (one per gateway client). Answers go out one write
/// at a time, in the order they are ready.
class ws_chat_session : public std::enable_shared_from_this<ws_chat_session> {
  public:
    ws_chat_session(beast::tcp_stream stream, http::request<http::string_body> request,
                    std::size_t& open_count)
        : ws_(std::move(stream)), request_(std::move(request)), open_count_(open_count) {}

    void start() {
        beast::get_lowest_layer(ws_).expires_never();
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(http::field::server, "wsgate-chatbot"); }));
        ws_.read_message_max(max_frame_bytes);
        ws_.async_accept(request_, [self = shared_from_this()](error_code ec) {
            if (ec) return;
            ++self->open_count_;
            self->counted_ = true;
            self->ws_.text(true);
            self->read();
        });
    }

  private:
    void read() {
        ws_.async_read(buffer_, [self = shared_from_this()](error_code ec, std::size_t) {
            if (ec) return self->finish();
            self->handle(beast::buffers_to_string(self->buffer_.data()));
            self->buffer_.consume(self->buffer_.size());
            self->read();
        });
    }

    void handle(const std::string& text) {
        const auto message = parse_message(text);
        if (!message) {
            return send(nlohmann::json{{"data", error_body("not a wsgate service message")}});
        }
        ws_answer reply = ws_answer_for(*message);
        if (reply.what == ws_answer::action::close) return close();
        if (reply.delay.count() > 0) return send_later(std::move(reply));
        send(reply.frame);
    }

    /// Sends after reply.delay with a timer: other messages are answered meanwhile.
    void send_later(ws_answer reply) {
        const auto timer = timers_.emplace(timers_.end(), ws_.get_executor(), reply.delay);
        timer->async_wait(
            [self = shared_from_this(), timer, frame = std::move(reply.frame)](error_code ec) {
                if (ec) return;
                self->timers_.erase(timer);
                self->send(frame);
            });
    }

    void send(const nlohmann::json& frame) {
        if (closing_) return;
        outbox_.push_back(frame.dump());
        write_next();
    }

    void write_next() {
        if (writing_ || outbox_.empty()) return;
        writing_ = true;
        ws_.async_write(net::buffer(outbox_.front()),
                        [self = shared_from_this()](error_code ec, std::size_t) {
                            self->writing_ = false;
                            self->outbox_.pop_front();
                            if (!ec) self->write_next();
                        });
    }

    void close() {
        if (closing_) return;
        closing_ = true;
        ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](error_code) {});
    }

    /// The WebSocket is gone: stop counting it and cancel the answers still waiting.
    void finish() {
        closing_ = true;
        for (auto& timer : timers_) timer.cancel();
        if (counted_) {
            --open_count_;
            counted_ = false;
        }
    }

    websocket::stream<beast::tcp_stream> ws_;
    http::request<http::string_body> request_;
    std::size_t& open_count_;
    beast::flat_buffer buffer_;
    std::deque<std::string> outbox_;  ///< front is being written when writing_
    std::list<net::steady_timer> timers_;
    bool writing_ = false;
    bool closing_ = false;
    bool counted_ = false;
};

}  // namespace

void start_ws_chat(beast::tcp_stream stream, http::request<http::string_body> request,
                   std::size_t& open_count) {
    std::make_shared<ws_chat_session>(std::move(stream), std::move(request), open_count)->start();
}

}  // namespace chatbot
