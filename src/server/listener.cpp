#include <wsgate/server/listener.hpp>

#include <boost/beast/core/bind_handler.hpp>

#include <spdlog/spdlog.h>

#include <wsgate/server/http_session.hpp>
#include <wsgate/tls/tls_context.hpp>
#include <wsgate/tls/tls_stream.hpp>

namespace wsgate {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
// After an accept error such as EMFILE, wait before trying again instead of spinning.
constexpr std::chrono::milliseconds accept_retry{100};
}  // namespace

listener::listener(net::io_context& ioc, const tcp::endpoint& endpoint,
                   std::shared_ptr<shared_state> state, listener_role role,
                   std::shared_ptr<const tls_context> tls)
    : acceptor_(ioc),
      retry_timer_(ioc),
      state_(std::move(state)),
      role_(role),
      tls_(std::move(tls)) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
}

void listener::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
}

void listener::do_accept() {
    acceptor_.async_accept(
        boost::beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
        spdlog::warn("accept on {}: {}", acceptor_.local_endpoint().port(), ec.message());
        retry_timer_.expires_after(accept_retry);
        retry_timer_.async_wait([self = shared_from_this()](boost::beast::error_code wait_ec) {
            if (!wait_ec) self->do_accept();
        });
        return;
    }
    // Events are small and latency matters more than packet count.
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (tls_) {
        tls_stream stream(std::move(socket), tls_engine(*tls_));
        std::make_shared<http_session<tls_stream>>(std::move(stream), state_, role_)->start();
    } else {
        std::make_shared<http_session<tcp::socket>>(std::move(socket), state_, role_)->start();
    }
    do_accept();
}

}  // namespace wsgate
