#include "test_io.hpp"

namespace wsgate::test {

bool run_until(boost::asio::io_context& ioc, const std::function<bool()>& done,
               std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    ioc.restart();
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        if (ioc.run_one_until(deadline) == 0 && ioc.stopped()) {
            return done();  // out of work: nothing can change any more
        }
    }
    return true;
}

}  // namespace wsgate::test
