#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace wsgate {

/// One timer for all the client connections of a process, instead of one per connection: every
/// period() it advances a coarse clock and tells each member the time, and each member checks
/// its own deadlines (heartbeat pings, silent peers, close handshakes) against it. An idle
/// connection pays for no timer, and the cost of a tick is a pass over the members. Single-
/// threaded, like everything on the io_context.
class session_sweeper {
public:
    using tick = std::uint32_t;

    /// Something the sweeper visits. Remove it before destroying it.
    class member {
    public:
        /// Called once per tick with the clock after the tick.
        virtual void on_sweep(tick now) = 0;

    protected:
        member() = default;
        ~member() = default;
        member(const member&) = delete;
        member& operator=(const member&) = delete;

    private:
        friend class session_sweeper;
        static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();
        std::uint32_t slot_ = none;
    };

    explicit session_sweeper(std::chrono::milliseconds period);
    ~session_sweeper();
    session_sweeper(const session_sweeper&) = delete;
    session_sweeper& operator=(const session_sweeper&) = delete;

    /// The period that lets deadlines of `shortest` (and longer) be kept within a quarter of
    /// their length: shortest / 4, at least 10 ms.
    static std::chrono::milliseconds period_for(std::chrono::milliseconds shortest);

    std::chrono::milliseconds period() const { return period_; }
    /// Ticks so far.
    tick now() const { return now_; }
    /// Ticks that pass before something that happened at now() is at least `d` old: what a
    /// member compares `now - then` with.
    tick ticks(std::chrono::milliseconds d) const;

    /// Adds `m` (starting the timer on `ex` if it is not running). Adding a member twice is a
    /// no-op.
    void add(member& m, const boost::asio::any_io_executor& ex);
    /// Removes `m`; a no-op if it is not a member. Members may remove themselves (and only
    /// themselves) from on_sweep().
    void remove(member& m);
    bool contains(const member& m) const { return m.slot_ != member::none; }
    std::size_t size() const { return members_.size(); }

    /// One tick: advances now() and calls on_sweep() on every member. The timer calls it;
    /// tests may call it directly.
    void sweep();

private:
    void arm();

    std::chrono::milliseconds period_;
    tick now_ = 0;
    std::vector<member*> members_;
    std::unique_ptr<boost::asio::steady_timer> timer_;  // created with the first member
    bool armed_ = false;
};

}  // namespace wsgate
