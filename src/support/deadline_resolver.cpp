#include <wsgate/support/deadline_resolver.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace wsgate {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
// Counted where the lookups start and end: both on the thread that runs the io_context.
std::size_t running = 0;
}  // namespace

std::size_t deadline_resolver::lookups_running() { return running; }

// One lookup. Whichever comes first of the answer, the deadline and cancel() finishes it; the
// caller's handler is let go then, so an answer that comes late keeps nothing of the caller's
// alive, only this.
struct deadline_resolver::lookup {
    lookup(const net::any_io_executor& ex, handler h)
        : resolver(ex), timer(ex), done(std::move(h)) {}

    void finish(const boost::system::error_code& ec, const endpoints& found) {
        if (!done) return;
        const handler h = std::move(done);
        done = nullptr;
        timer.cancel();
        resolver.cancel();
        // An answer already queued when cancel() came must not count.
        if (aborted)
            h(net::error::operation_aborted, {});
        else
            h(ec, found);
    }

    tcp::resolver resolver;
    net::steady_timer timer;
    handler done;
    bool aborted = false;
};

deadline_resolver::~deadline_resolver() {
    if (current_) current_->done = nullptr;
}

void deadline_resolver::async_resolve(const std::string& host, std::uint16_t port,
                                      std::chrono::steady_clock::time_point deadline,
                                      handler done) {
    cancel();
    auto l = std::make_shared<lookup>(ex_, std::move(done));
    current_ = l;
    boost::system::error_code not_an_address;
    const auto address = net::ip::make_address(host, not_an_address);
    if (!not_an_address) {
        net::post(ex_, [l, found = endpoints{{address, port}}] { l->finish({}, found); });
        return;
    }
    l->timer.expires_at(deadline);
    l->timer.async_wait([l](const boost::system::error_code& ec) {
        if (!ec) l->finish(net::error::timed_out, {});
    });
    ++running;
    l->resolver.async_resolve(
        host, std::to_string(port),
        [l](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
            --running;
            endpoints found;
            for (const auto& entry : results) found.push_back(entry.endpoint());
            l->finish(ec, found);
        });
}

void deadline_resolver::cancel() {
    if (auto l = std::move(current_)) {
        current_.reset();
        l->aborted = true;
        // Posted: a handler never runs inside its caller's call.
        net::post(ex_, [l] { l->finish(net::error::operation_aborted, {}); });
    }
}

}  // namespace wsgate
