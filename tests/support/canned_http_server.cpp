#include "canned_http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <thread>

namespace wsgate::test {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

struct canned_http_server::impl {
    impl(unsigned s, std::string b, std::string t)
        : status(s), body(std::move(b)), type(std::move(t)),
          acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0}) {}

    void accept() {
        acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec) return;
            serve(std::make_shared<connection>(std::move(socket)));
            accept();
        });
    }

    struct connection {
        explicit connection(tcp::socket s) : socket(std::move(s)) {}
        tcp::socket socket;
        boost::beast::flat_buffer buffer;
        http::request<http::string_body> request;
        http::response<http::string_body> response;
    };

    void serve(std::shared_ptr<connection> c) {
        c->request = {};
        http::async_read(c->socket, c->buffer, c->request,
                         [this, c](boost::system::error_code ec, std::size_t) {
                             if (ec) return;
                             ++answered;
                             c->response = {static_cast<http::status>(status), 11};
                             c->response.set(http::field::content_type, type);
                             c->response.keep_alive(c->request.keep_alive());
                             c->response.body() = body;
                             c->response.prepare_payload();
                             http::async_write(c->socket, c->response,
                                               [this, c](boost::system::error_code wec,
                                                         std::size_t) {
                                                   if (!wec && c->response.keep_alive()) serve(c);
                                               });
                         });
    }

    const unsigned status;
    const std::string body;
    const std::string type;
    net::io_context ioc;
    tcp::acceptor acceptor;
    std::atomic<std::size_t> answered{0};
    std::thread thread;
};

canned_http_server::canned_http_server(unsigned status, std::string body,
                                       std::string content_type)
    : impl_(std::make_unique<impl>(status, std::move(body), std::move(content_type))) {
    impl_->accept();
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

canned_http_server::~canned_http_server() {
    impl_->ioc.stop();
    impl_->thread.join();
}

std::uint16_t canned_http_server::port() const { return impl_->acceptor.local_endpoint().port(); }

std::size_t canned_http_server::requests() const { return impl_->answered; }

}  // namespace wsgate::test
