// wsgate-chatbot: an example backend service for wsgate's `http` and `websocket` transports
// (docs/services.md).
//
//   wsgate-chatbot --listen 127.0.0.1:9000 --secret a-long-random-string
//                  --gateway http://127.0.0.1:8080 --api-key k1
//
//   wsgate-chatbot --queue redis://127.0.0.1:6379 --gateway http://127.0.0.1:8080 --api-key k1
//
// With --queue it is a worker for the `queue` transport instead (queue_worker.hpp).
//
// Each client `send` arrives as a signed POST, or as a frame on the signed upstream WebSocket at
// /ws-chat (same port); the bot answers by `data.text` (see bot.hpp).
// Single-threaded: one io_context serves every connection.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/system/system_error.hpp>

#include <csignal>
#include <iostream>

#include "chat_server.hpp"
#include "gateway_client.hpp"
#include "options.hpp"
#include "queue_worker.hpp"

namespace {

/// The line a supervisor (or a test) reads to learn the port.
void announce(const boost::asio::ip::tcp::endpoint& endpoint) {
    std::cout << "chatbot listening on " << endpoint.address().to_string() << ":"
              << endpoint.port() << std::endl;  // std::endl flushes
}

int run(const chatbot::options& opts) {
    boost::asio::io_context ioc(1);
    chatbot::gateway_client gateway(ioc, opts.gateway, opts.api_key);
    chatbot::chat_server server(ioc, opts, gateway);
    boost::asio::signal_set stop_signals(ioc, SIGINT, SIGTERM);
    stop_signals.async_wait([&ioc](boost::system::error_code, int) { ioc.stop(); });
    server.start();
    announce(server.local_endpoint());
    ioc.run();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    chatbot::options opts;
    try {
        opts = chatbot::parse_options(argc, argv);
    } catch (const chatbot::usage_error& e) {
        std::cerr << "wsgate-chatbot: " << e.what() << "\n" << chatbot::usage_text();
        return 2;
    }
    if (opts.help) {
        std::cout << chatbot::usage_text();
        return 0;
    }
    if (opts.queue) {
        return chatbot::run_queue_worker(opts);
    }
    try {
        return run(opts);
    } catch (const boost::system::system_error& e) {
        std::cerr << "wsgate-chatbot: cannot listen on " << opts.listen.host << ":"
                  << opts.listen.port << ": " << e.code().message() << std::endl;
        return 1;
    }
}
