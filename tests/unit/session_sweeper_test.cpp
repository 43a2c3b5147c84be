#include <wsgate/session/session_sweeper.hpp>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <vector>

using namespace wsgate;
using namespace std::chrono_literals;

namespace {

struct probe final : session_sweeper::member {
    std::vector<session_sweeper::tick> seen;
    std::function<void()> on_tick;
    void on_sweep(session_sweeper::tick now) override {
        seen.push_back(now);
        if (on_tick) on_tick();
    }
};

}  // namespace

TEST(session_sweeper, a_deadline_of_d_is_never_met_early) {
    session_sweeper s(50ms);
    EXPECT_EQ(s.ticks(200ms), 5u) << "4 periods, plus the one already begun";
    EXPECT_EQ(s.ticks(201ms), 6u);
    EXPECT_EQ(s.ticks(1ms), 2u);
    EXPECT_EQ(session_sweeper::period_for(200ms), 50ms);
    EXPECT_EQ(session_sweeper::period_for(20ms), 10ms);
}

TEST(session_sweeper, every_member_sees_every_tick_until_removed) {
    boost::asio::io_context ioc;
    session_sweeper s(10ms);
    probe a, b;
    s.add(a, ioc.get_executor());
    s.add(b, ioc.get_executor());
    s.add(a, ioc.get_executor());
    EXPECT_EQ(s.size(), 2u);
    s.sweep();
    s.remove(a);
    s.remove(a);
    s.sweep();
    EXPECT_EQ(a.seen, (std::vector<session_sweeper::tick>{1}));
    EXPECT_EQ(b.seen, (std::vector<session_sweeper::tick>{1, 2}));
    EXPECT_FALSE(s.contains(a));
    s.remove(b);
}

TEST(session_sweeper, members_may_remove_themselves_while_swept) {
    boost::asio::io_context ioc;
    session_sweeper s(10ms);
    std::vector<probe> probes(5);
    for (auto& p : probes) {
        s.add(p, ioc.get_executor());
        p.on_tick = [&s, &p] { s.remove(p); };
    }
    probes[4].on_tick = nullptr;
    s.sweep();
    for (auto& p : probes) EXPECT_EQ(p.seen.size(), 1u);
    EXPECT_EQ(s.size(), 1u);
    s.sweep();
    EXPECT_EQ(probes[4].seen.size(), 2u);
    s.remove(probes[4]);
}

TEST(session_sweeper, the_timer_ticks_while_there_are_members_and_stops_after) {
    boost::asio::io_context ioc;
    session_sweeper s(10ms);
    probe p;
    s.add(p, ioc.get_executor());
    p.on_tick = [&] {
        if (p.seen.size() == 3) s.remove(p);
    };
    ioc.run_for(2s);  // returns early: nothing is left to wait for once p is gone
    EXPECT_EQ(p.seen.size(), 3u);
    EXPECT_TRUE(ioc.stopped());
}
