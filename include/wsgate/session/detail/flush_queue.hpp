#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include <boost/asio/execution_context.hpp>

namespace wsgate {

class ws_transport;

namespace detail {

/// The transports of one io_context that have frames to write, flushed together once per turn
/// of the event loop: one posted handler for a whole fan-out instead of one per connection, and
/// a burst queued by one handler (a batch publish, a Redis read carrying many messages) still
/// leaves each socket in one gather write. An Asio service, so it lives exactly as long as its
/// io_context. Single-threaded, like the io_context it serves.
class flush_queue final : public boost::asio::execution_context::service {
public:
    using key_type = flush_queue;
    static boost::asio::execution_context::id id;

    explicit flush_queue(boost::asio::execution_context& context)
        : boost::asio::execution_context::service(context) {}

    /// Flushes `t` at the end of this turn of the loop; scheduling it again meanwhile is a
    /// no-op.
    void schedule(ws_transport& t);
    /// Forgets `t` (it is going away, or has nothing left to write).
    void cancel(ws_transport& t);

    static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

private:
    // The io_context is going away: forget the transports (they may be destroyed after this,
    // while the io_context destroys the handlers that own them).
    void shutdown() override;
    void run();

    std::vector<ws_transport*> pending_;  // null where a transport was cancelled
    bool posted_ = false;
};

}  // namespace detail
}  // namespace wsgate
