#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace wsgate {

/// Resolves a host name within a deadline, off the event loop.
///
/// Asio runs getaddrinfo() on a thread of its own, so the loop never waits for a lookup; but a
/// lookup cannot be interrupted there (cancelling only keeps one from starting), so on its own
/// a slow or hanging lookup would keep its handler, and whatever waits for that, waiting as
/// long as the system's resolver takes; and lookups run one at a time, so later ones wait
/// behind it. This one gives up at the deadline instead: the handler runs then with
/// `error::timed_out`, and the late answer is dropped. An IP address (IPv4, or IPv6 without
/// brackets) is taken as it is, without a lookup, so that it never waits behind a hanging one.
class deadline_resolver {
  public:
    using endpoints = std::vector<boost::asio::ip::tcp::endpoint>;
    using handler = std::function<void(const boost::system::error_code&, const endpoints&)>;

    explicit deadline_resolver(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
    /// A lookup still running is dropped: its handler never runs.
    ~deadline_resolver();
    deadline_resolver(const deadline_resolver&) = delete;
    deadline_resolver& operator=(const deadline_resolver&) = delete;

    /// Starts resolving `host`:`port`, cancelling a lookup still running. `done` runs exactly
    /// once, never inside this call: with the addresses in the resolver's order, with the
    /// resolver's error, with `error::timed_out` once `deadline` has passed, or with
    /// `error::operation_aborted` after cancel().
    void async_resolve(const std::string& host, std::uint16_t port,
                       std::chrono::steady_clock::time_point deadline, handler done);
    /// Ends the lookup in progress, if any: its handler runs with operation_aborted.
    void cancel();

    /// Lookups of every deadline_resolver that getaddrinfo() has not finished yet (given up on
    /// or not). The io_context waits for them when it is destroyed: main checks this first.
    static std::size_t lookups_running();

  private:
    struct lookup;
    boost::asio::any_io_executor ex_;
    std::shared_ptr<lookup> current_;
};

}  // namespace wsgate
