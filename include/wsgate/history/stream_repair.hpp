#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include <wsgate/bus/bus.hpp>
#include <wsgate/history/stream.hpp>

namespace wsgate {
struct history_metrics;
}

namespace wsgate::history {

/// One instance's repair of the streams it delivers (docs/history.md, "When an instance's live
/// path breaks"): it sits between the bus and the hub, and knows, per stream (a bus topic: a
/// channel's or a user's) with recipients here, the last position it delivered. When the
/// bus's live path was broken and is back (resync), or an event comes whose offset is not the
/// next one, it reads the missing range from history and delivers it in order before anything
/// newer, holding newer events meanwhile; it drops what it already delivered. What cannot be
/// read (trimmed, expired, another epoch, or the history unreachable for `give_up`) is
/// reported as a gap. So connected clients get every event of such a stream once, in offset
/// order, or are told which ones they did not get.
///
/// Only for an engine whose live path can break (Redis); events without an offset, and
/// streams not watched, pass through.
class stream_repair : public std::enable_shared_from_this<stream_repair> {
public:
    struct options {
        std::size_t max_events = 1000;  ///< events read per step and held at most
        std::chrono::milliseconds give_up{10000};  ///< how long a failing read is retried
        std::chrono::milliseconds retry{200};      ///< between two tries
    };
    /// Lost events: those after `after` (unknown: nullopt) up to and including `upto`
    /// (unknown: nullopt; then whatever comes next is what follows).
    struct gap {
        std::optional<position> after;
        std::optional<position> upto;
    };
    using deliver_fn = std::function<void(const envelope&)>;
    using report_fn = std::function<void(const std::string& topic, const gap&)>;

    stream_repair(boost::asio::any_io_executor ex, bus& events, options opts,
                  history_metrics& stats, deliver_fn deliver, report_fn report);
    ~stream_repair();

    /// An event with an offset, from the bus.
    void on_event(const envelope& e);
    /// The stream of `topic` (with history) got its first recipient here: its position is
    /// learnt once the bus's subscription is in force.
    void watch(const std::string& topic);
    /// Its last recipient here left.
    void unwatch(const std::string& topic);
    /// The bus's subscription to `topic` is in force again after its live path broke:
    /// whatever was published meanwhile is read from history.
    void resync(const std::string& topic);

private:
    struct stream;
    void accept(stream& s, const envelope& e);
    void hold(const std::string& topic, stream& s, const envelope& e);
    void start_repair(const std::string& topic, stream& s);
    void read(const std::string& topic, stream& s);
    void on_read(const std::string& topic, std::uint64_t generation,
                 std::optional<read_result> r);
    /// Reports what is missing after `s.last` up to `upto` as lost, and goes on from there.
    void report(const std::string& topic, stream& s, std::optional<position> upto);
    /// report(), and the repair is over.
    void lost(const std::string& topic, stream& s, std::optional<position> upto);
    void finish(const std::string& topic);
    stream* find(const std::string& topic, std::uint64_t generation);

    boost::asio::any_io_executor ex_;
    bus& events_;
    options opts_;
    history_metrics& stats_;
    deliver_fn deliver_;
    report_fn report_;
    std::unordered_map<std::string, std::unique_ptr<stream>> streams_;
    std::uint64_t generations_ = 0;
};

}  // namespace wsgate::history
