#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
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

}  // namespace wsgate::test
