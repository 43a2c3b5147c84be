// The gateway's repair of its channel streams, against a bus whose history reads are answered
// by the test: what is delivered, in which order, what is dropped, and what is reported lost.

#include <wsgate/history/stream_repair.hpp>
#include <wsgate/metrics/metrics.hpp>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <map>

using namespace wsgate;
using namespace std::chrono_literals;
using history::position;
using history::stream_repair;

namespace {

envelope event(std::uint64_t offset, const std::string& epoch = "e") {
    envelope e;
    e.id = "i:" + std::to_string(offset);
    e.kind = target_kind::channel;
    e.target = "room";
    e.offset = offset;
    e.epoch = epoch;
    e.data = std::to_string(offset);
    return e;
}

// A stream of events 1..top of epoch "e", of which the oldest `first`.. are kept; reads wait
// until the test answers them, or fail while `down`.
class history_bus final : public bus {
public:
    struct read_call {
        std::string topic;
        std::string epoch;
        std::uint64_t after;
        std::size_t limit;
        read_callback done;
    };
    std::uint64_t top = 0;
    std::uint64_t first = 1;
    std::string epoch = "e";
    std::deque<read_call> reads;
    bool subscribed_later = false;
    std::vector<std::function<void()>> waiting;

    void publish(const envelope&, const publish_options&, publish_callback) override {}
    void read_history(const std::string& topic, const std::string& ep, std::uint64_t after,
                      std::size_t limit, read_callback done) override {
        reads.push_back({topic, ep, after, limit, std::move(done)});
    }
    void remove_history(const std::string&, std::function<void(bool)>) override {}
    void subscribe(const std::string&) override {}
    void unsubscribe(const std::string&) override {}
    bool ready() const override { return true; }
    void when_subscribed(const std::string&, std::function<void()> in_force) override {
        if (subscribed_later)
            waiting.push_back(std::move(in_force));
        else
            in_force();
    }
    /// Answers the oldest read as the stream stands now (nullopt: as if unreachable).
    void answer(bool reachable = true) {
        ASSERT_FALSE(reads.empty());
        auto call = std::move(reads.front());
        reads.pop_front();
        if (!reachable) return call.done(std::nullopt);
        history::read_result r;
        r.top = {epoch, top};
        const bool same = call.epoch == epoch || (call.epoch.empty() && call.after == 0 && first == 1);
        r.complete = same && call.after <= top && call.after + 1 >= first;
        if (r.complete)
            for (auto o = call.after + 1; o <= top && r.events.size() < call.limit; ++o)
                r.events.push_back(std::make_shared<const envelope>(event(o, epoch)));
        call.done(std::move(r));
    }
};

struct rig {
    boost::asio::io_context ioc;
    history_bus bus;
    history_metrics stats;
    std::vector<std::uint64_t> delivered;
    std::vector<stream_repair::gap> gaps;
    std::shared_ptr<stream_repair> repair;

    explicit rig(stream_repair::options opts = {}) {
        opts.retry = 1ms;
        repair = std::make_shared<stream_repair>(
            ioc.get_executor(), bus, opts, stats,
            [this](const envelope& e) { delivered.push_back(e.offset); },
            [this](const std::string& topic, const stream_repair::gap& g) {
                EXPECT_EQ(topic, "ch:room");
                gaps.push_back(g);
            });
    }
    void run_for(std::chrono::milliseconds d) {
        ioc.restart();  // it stops whenever it runs out of work
        ioc.run_for(d);
    }
    // Publishes offset top+1 and hands it to the repair as the bus would (`live`), or not.
    void publish(bool live = true) {
        ++bus.top;
        if (live) repair->on_event(event(bus.top, bus.epoch));
    }
};

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
    std::vector<std::uint64_t> out;
    for (auto o = from; o <= to; ++o) out.push_back(o);
    return out;
}

}  // namespace

TEST(stream_repair, a_skipped_offset_is_read_from_history_before_anything_newer) {
    rig r;
    r.repair->watch("ch:room");
    r.bus.answer();  // the position when the subscription came in force: 0
    r.publish();
    r.publish(false);  // 2 and 3 never came live
    r.publish(false);
    r.publish();  // 4 shows the gap
    r.publish();  // 5 comes during the read
    EXPECT_EQ(r.delivered, range(1, 1)) << "4 and 5 wait for 2 and 3";
    ASSERT_EQ(r.bus.reads.size(), 1u);
    EXPECT_EQ(r.bus.reads.front().after, 1u);
    r.bus.answer();
    EXPECT_EQ(r.delivered, range(1, 5));
    r.repair->on_event(event(4));  // a live copy late on the other connection
    r.publish();
    EXPECT_EQ(r.delivered, range(1, 6)) << "once each, in order";
    EXPECT_EQ(r.stats.stream_repairs, 1u);
    EXPECT_EQ(r.stats.stream_repaired_events, 4u) << "2 to 5 came from history";
    EXPECT_EQ(r.stats.stream_duplicates, 3u) << "4 and 5 held, and 4 again";
    EXPECT_TRUE(r.gaps.empty());
}

TEST(stream_repair, a_resync_reads_what_was_published_while_the_link_was_down) {
    rig r;
    r.repair->watch("ch:room");
    r.bus.answer();
    r.publish();
    r.publish(false);
    r.publish(false);
    r.repair->resync("ch:room");  // the subscriber link is back; nothing newer came yet
    r.publish();               // held: the read is out
    r.bus.answer();
    EXPECT_EQ(r.delivered, range(1, 4));
    r.repair->resync("ch:room");  // back again, nothing missed this time
    r.bus.answer();
    EXPECT_EQ(r.delivered, range(1, 4));
    EXPECT_EQ(r.stats.stream_repairs, 1u);
    EXPECT_TRUE(r.gaps.empty());
}

TEST(stream_repair, a_range_history_no_longer_has_is_reported_then_live_goes_on) {
    rig r;
    r.repair->watch("ch:room");
    r.bus.answer();
    r.publish();
    for (int i = 0; i < 5; ++i) r.publish(false);  // 2..6 missed
    r.bus.first = 5;                                  // and 2..4 trimmed away
    r.publish();
    r.bus.answer();
    ASSERT_EQ(r.gaps.size(), 1u);
    EXPECT_EQ(r.gaps[0].after->offset, 1u);
    EXPECT_EQ(r.gaps[0].upto->offset, 7u) << "up to the position of the read";
    EXPECT_EQ(r.delivered, range(1, 1)) << "7 was at or below the reported position";
    r.publish();
    EXPECT_EQ(r.delivered, (std::vector<std::uint64_t>{1, 8}));
    EXPECT_EQ(r.stats.stream_gaps, 1u);
}

TEST(stream_repair, a_history_lost_with_its_epoch_is_reported_and_the_new_epoch_follows) {
    rig r;
    r.repair->watch("ch:room");
    r.bus.answer();
    r.publish();
    r.publish();
    // Redis restarted without persistence while the link was down: the stream is gone.
    r.bus.epoch = "";
    r.bus.top = 0;
    r.repair->resync("ch:room");
    r.bus.answer();
    ASSERT_EQ(r.gaps.size(), 1u);
    EXPECT_EQ(r.gaps[0].after->epoch, "e");
    EXPECT_EQ(r.gaps[0].upto->epoch, "");
    r.bus.epoch = "f";
    r.publish();  // offset 1 of the new epoch
    r.publish();
    EXPECT_EQ(r.delivered, (std::vector<std::uint64_t>{1, 2, 1, 2}));
    // An epoch seen part way in: what the old one had after 2 is unknown, so it is reported,
    // and the new one is read from its start.
    r.bus.epoch = "g";
    r.bus.top = 2;
    r.publish();
    ASSERT_EQ(r.bus.reads.size(), 1u);
    EXPECT_EQ(r.bus.reads.front().epoch, "f");
    r.bus.answer();
    ASSERT_EQ(r.gaps.size(), 2u) << "what the old epoch had after 2 is unknown";
    EXPECT_EQ(r.gaps[1].after->epoch, "f");
    EXPECT_EQ(r.gaps[1].upto->epoch, "g");
    EXPECT_EQ(r.gaps[1].upto->offset, 0u) << "nothing of the new epoch is lost";
    ASSERT_EQ(r.bus.reads.size(), 1u);
    EXPECT_EQ(r.bus.reads.front().epoch, "g");
    EXPECT_EQ(r.bus.reads.front().after, 0u);
    r.bus.answer();
    EXPECT_EQ(r.delivered, (std::vector<std::uint64_t>{1, 2, 1, 2, 1, 2, 3}));
    EXPECT_EQ(r.gaps.size(), 2u);
}

TEST(stream_repair, an_unreachable_history_is_retried_then_given_up_with_a_gap) {
    stream_repair::options opts;
    opts.give_up = 30ms;
    rig r(opts);
    r.repair->watch("ch:room");
    r.bus.answer();
    r.publish();
    r.publish(false);
    r.publish();  // 3: 2 is missing
    r.bus.answer(false);
    r.run_for(5ms);
    ASSERT_EQ(r.bus.reads.size(), 1u) << "retried";
    r.bus.answer();
    EXPECT_EQ(r.delivered, range(1, 3)) << "the retry got it";
    r.publish(false);
    r.publish();  // 5: 4 is missing, and the history stays unreachable
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (r.gaps.empty() && std::chrono::steady_clock::now() < until) {
        if (!r.bus.reads.empty()) r.bus.answer(false);
        r.run_for(2ms);
    }
    ASSERT_EQ(r.gaps.size(), 1u);
    EXPECT_EQ(r.gaps[0].after->offset, 3u);
    EXPECT_EQ(r.gaps[0].upto->offset, 4u) << "just before the oldest held event";
    EXPECT_EQ(r.delivered, (std::vector<std::uint64_t>{1, 2, 3, 5}));
}

TEST(stream_repair, holding_is_bounded_and_what_is_given_up_is_reported) {
    stream_repair::options opts;
    opts.max_events = 3;
    rig r(opts);
    r.repair->watch("ch:room");
    r.bus.answer();
    r.publish();
    r.publish(false);
    for (int i = 0; i < 4; ++i) r.publish();  // 3..6 held while the read of 2 is out
    ASSERT_EQ(r.gaps.size(), 1u) << "four held, three at most";
    EXPECT_EQ(r.gaps[0].upto->offset, 2u);
    EXPECT_EQ(r.delivered, (std::vector<std::uint64_t>{1, 3, 4, 5, 6}));
    r.bus.answer();  // the read that was out is of no use any more
    EXPECT_EQ(r.delivered, (std::vector<std::uint64_t>{1, 3, 4, 5, 6}));
}

TEST(stream_repair, before_its_position_is_known_events_pass_and_unwatched_channels_too) {
    rig r;
    r.bus.subscribed_later = true;
    r.repair->watch("ch:room");
    r.publish();
    r.publish();
    EXPECT_EQ(r.delivered, range(1, 2));
    r.repair->unwatch("ch:room");
    r.publish(false);
    r.publish();  // not watched: no repair, it passes
    EXPECT_EQ(r.delivered, (std::vector<std::uint64_t>{1, 2, 4}));
    EXPECT_TRUE(r.bus.reads.empty());
    for (auto& w : r.bus.waiting) w();  // the old watch's subscription: ignored
    EXPECT_TRUE(r.bus.reads.empty());
}

TEST(stream_repair, a_user_stream_is_repaired_like_a_channel) {
    rig r;
    r.repair->watch("ch:room");
    r.bus.answer();
    r.repair->watch("user:alice");
    ASSERT_EQ(r.bus.reads.size(), 1u);
    r.bus.reads.pop_front();  // its position is learnt as 0 later: not needed here
    envelope to_alice = event(1);
    to_alice.kind = target_kind::user;
    to_alice.target = "alice";
    r.repair->on_event(to_alice);
    to_alice.offset = 3;  // 2 was missed: the read goes to alice's stream, not the channel's
    r.repair->on_event(to_alice);
    ASSERT_EQ(r.bus.reads.size(), 1u);
    EXPECT_EQ(r.bus.reads.front().topic, "user:alice");
    EXPECT_EQ(r.bus.reads.front().after, 1u);
    EXPECT_EQ(r.delivered, range(1, 1));
}
