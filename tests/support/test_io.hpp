#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace wsgate::test {

/// Thrown by the test clients when an I/O step fails or times out. GoogleTest reports an exception
/// escaping a test body as a failure, so a test stops at the first broken step instead of waiting
/// for one timeout after another.
class io_failure : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Runs `ioc` until `done()` is true or `timeout` has passed; returns `done()`. Handlers still
/// pending after a timeout stay queued (cancel them and call again to collect them).
bool run_until(boost::asio::io_context& ioc, const std::function<bool()>& done,
               std::chrono::milliseconds timeout);

/// Starts one asynchronous operation, `start(handler)`, and runs `ioc` until it completes: its
/// error code. When `timeout` passes first, `socket`'s operations are cancelled (and their
/// handlers run) and the result is std::nullopt.
template <class Socket, class Start>
std::optional<boost::system::error_code> run_op(boost::asio::io_context& ioc, Socket& socket,
                                                std::chrono::milliseconds timeout, Start start) {
    std::optional<boost::system::error_code> result;
    start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    const auto done = [&result] { return result.has_value(); };
    if (run_until(ioc, done, timeout)) return result;
    boost::system::error_code ignored;
    socket.cancel(ignored);
    run_until(ioc, done, std::chrono::seconds(1));
    return std::nullopt;
}

}  // namespace wsgate::test
