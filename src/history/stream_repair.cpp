#include <wsgate/history/stream_repair.hpp>

#include <boost/asio/steady_timer.hpp>

#include <wsgate/metrics/metrics.hpp>

namespace wsgate::history {

namespace net = boost::asio;
using clock_type = std::chrono::steady_clock;

struct stream_repair::stream {
    std::uint64_t generation = 0;    ///< tells this watch's reads from an earlier one's
    std::optional<position> last;    ///< delivered up to here (or, unconfirmed, learnt)
    bool confirmed = false;          ///< `last` was delivered here: anything at or below it
                                     ///< that comes again is a duplicate
    bool repairing = false;          ///< a read is out or due; live events are held
    bool again = false;              ///< resynced during a repair: read once more after it
    clock_type::time_point started;  ///< of the repair, for options::give_up
    std::vector<envelope> held;      ///< live events while repairing, in arrival order
    std::unique_ptr<net::steady_timer> retry;
};

stream_repair::stream_repair(net::any_io_executor ex, bus& events, options opts,
                             history_metrics& stats, deliver_fn deliver, report_fn report)
    : ex_(std::move(ex)),
      events_(events),
      opts_(opts),
      stats_(stats),
      deliver_(std::move(deliver)),
      report_(std::move(report)) {}

stream_repair::~stream_repair() = default;

stream_repair::stream* stream_repair::find(const std::string& topic,
                                           std::uint64_t generation) {
    auto it = streams_.find(topic);
    if (it == streams_.end() || it->second->generation != generation) return nullptr;
    return it->second.get();
}

void stream_repair::watch(const std::string& topic) {
    auto [it, added] = streams_.try_emplace(topic);
    if (!added) return;
    it->second = std::make_unique<stream>();
    const auto generation = it->second->generation = ++generations_;
    // Once the subscription is in force every later event comes live: the stream's position
    // then is where this instance's responsibility starts, should the live path break before
    // the first event. Events that come meanwhile are newer, or pass through.
    events_.when_subscribed(topic, [weak = weak_from_this(), generation, topic] {
        auto self = weak.lock();
        if (!self || !self->find(topic, generation)) return;
        self->events_.read_history(
            topic, "", 0, 0, [weak, topic, generation](std::optional<read_result> r) {
                auto me = weak.lock();
                stream* s = me ? me->find(topic, generation) : nullptr;
                if (s && r && !s->last && !s->repairing) s->last = r->top;
            });
    });
}

void stream_repair::unwatch(const std::string& topic) { streams_.erase(topic); }

void stream_repair::on_event(const envelope& e) {
    auto it = streams_.find(topic_of(e));
    if (it == streams_.end()) return deliver_(e);  // no subscriber here to repair for
    stream& s = *it->second;
    if (s.repairing) return hold(it->first, s, e);
    if (!s.last) return accept(s, e);
    const position& last = *s.last;
    if (e.epoch == last.epoch) {
        if (e.offset == last.offset + 1) return accept(s, e);
        if (e.offset <= last.offset) {
            // Delivered already (by a repair, with the live copy late), or, while the position
            // was only learnt, in flight when it was: the sessions' own floors sort those out.
            if (s.confirmed) {
                ++stats_.stream_duplicates;
                return;
            }
            return deliver_(e);
        }
    } else if (e.offset == 1) {
        return accept(s, e);  // a new incarnation of the stream, from its start
    }
    // Offsets missing before this one (or another epoch, part way in): read what came between.
    s.held.push_back(e);
    start_repair(it->first, s);
}

void stream_repair::accept(stream& s, const envelope& e) {
    s.last = position{e.epoch, e.offset};
    s.confirmed = true;
    deliver_(e);
}

void stream_repair::hold(const std::string& topic, stream& s, const envelope& e) {
    s.held.push_back(e);
    if (s.held.size() <= opts_.max_events) return;
    // Held beyond the bound: what is missing before the oldest held event is given up.
    const envelope& first = s.held.front();
    lost(topic, s, position{first.epoch, first.offset - 1});
}

void stream_repair::resync(const std::string& topic) {
    auto it = streams_.find(topic);
    if (it == streams_.end()) return;
    stream& s = *it->second;
    if (s.repairing) {
        s.again = true;
        return;
    }
    // Nothing delivered or learnt yet: there is no position to repair from; learn it now.
    if (!s.last) {
        streams_.erase(it);
        return watch(topic);
    }
    start_repair(topic, s);
}

void stream_repair::start_repair(const std::string& topic, stream& s) {
    s.repairing = true;
    s.again = false;
    s.started = clock_type::now();
    read(topic, s);
}

void stream_repair::read(const std::string& topic, stream& s) {
    const position from = *s.last;
    events_.read_history(topic, from.epoch, from.offset, opts_.max_events,
                         [weak = weak_from_this(), topic,
                          generation = s.generation](std::optional<read_result> r) {
                             if (auto self = weak.lock())
                                 self->on_read(topic, generation, std::move(r));
                         });
}

void stream_repair::on_read(const std::string& topic, std::uint64_t generation,
                            std::optional<read_result> r) {
    stream* s = find(topic, generation);
    if (s == nullptr || !s->repairing) return;
    if (!r) {
        // The history cannot be read now: retry for a while, then give the range up.
        if (clock_type::now() - s->started >= opts_.give_up) {
            std::optional<position> upto;
            if (!s->held.empty()) upto = position{s->held.front().epoch, s->held.front().offset - 1};
            return lost(topic, *s, upto);
        }
        if (!s->retry) s->retry = std::make_unique<net::steady_timer>(ex_);
        s->retry->expires_after(opts_.retry);
        s->retry->async_wait([weak = weak_from_this(), topic,
                              generation](boost::system::error_code ec) {
            auto self = weak.lock();
            stream* st = self && !ec ? self->find(topic, generation) : nullptr;
            if (st && st->repairing) self->read(topic, *st);
        });
        return;
    }
    if (!r->complete) {
        // Another epoch: the rest of ours is gone, but the new one may be whole from its start.
        if (!r->top.epoch.empty() && r->top.epoch != s->last->epoch) {
            report(topic, *s, position{r->top.epoch, 0});
            return read(topic, *s);
        }
        return lost(topic, *s, r->top);  // the range is gone
    }
    std::uint64_t replayed = 0;
    for (const auto& e : r->events) {
        if (e->offset <= s->last->offset) continue;
        s->last = position{e->epoch, e->offset};
        deliver_(*e);
        ++replayed;
    }
    s->confirmed = true;
    stats_.stream_repaired_events += replayed;
    if (replayed > 0) ++stats_.stream_repairs;
    // A limit cut the read: the rest comes next.
    if (replayed > 0 && s->last->offset < r->top.offset) return read(topic, *s);
    finish(topic);
}

void stream_repair::report(const std::string& topic, stream& s,
                           std::optional<position> upto) {
    ++stats_.stream_gaps;
    report_(topic, gap{s.last, upto});
    s.last = upto;
    s.confirmed = upto.has_value();
    s.generation = ++generations_;  // a read still out is of no use now
}

void stream_repair::lost(const std::string& topic, stream& s, std::optional<position> upto) {
    report(topic, s, std::move(upto));
    finish(topic);
}

void stream_repair::finish(const std::string& topic) {
    auto it = streams_.find(topic);
    if (it == streams_.end()) return;
    stream& s = *it->second;
    s.repairing = false;
    s.retry.reset();
    const bool again = s.again;
    auto held = std::move(s.held);
    s.held.clear();
    // What was held goes through the same rules: delivered in order, dropped if the repair had
    // it, or the start of another repair (which holds the rest again).
    for (const auto& e : held) on_event(e);
    it = streams_.find(topic);
    if (again && it != streams_.end() && !it->second->repairing && it->second->last)
        start_repair(topic, *it->second);
}

}  // namespace wsgate::history
