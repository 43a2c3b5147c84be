#include <wsgate/history/memory_history.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace wsgate;
using namespace std::chrono_literals;
using history::memory_history;

namespace {

const auto t0 = memory_history::clock::time_point{} + 1h;
const history::policy keep5{5, 60s};

envelope event(std::string data) {
    envelope e;
    e.kind = target_kind::channel;
    e.target = "room";
    e.event = "ev";
    e.data = std::move(data);
    return e;
}

// Epochs "e1", "e2", ... in the order streams are made, so tests can name them.
memory_history make(std::size_t budget = 1 << 20) {
    return memory_history(budget, [n = 0]() mutable { return "e" + std::to_string(++n); });
}

std::vector<std::uint64_t> offsets(const history::read_result& r) {
    std::vector<std::uint64_t> out;
    for (const auto& e : r.events) out.push_back(e->offset);
    return out;
}

void append(memory_history& h, const std::string& stream, int count,
            memory_history::clock::time_point at = t0, history::policy p = keep5) {
    for (int i = 0; i < count; ++i) {
        auto e = event(std::to_string(i));
        h.append(stream, e, p, at);
    }
}

}  // namespace

TEST(memory_history, offsets_count_from_one_per_stream_within_one_epoch) {
    auto h = make();
    auto a = event("1");
    auto pos = h.append("ch:a", a, keep5, t0);
    EXPECT_EQ(a.offset, 1u);
    EXPECT_EQ(a.epoch, "e1");
    EXPECT_EQ(pos.offset, 1u);
    auto b = event("2");
    h.append("ch:b", b, keep5, t0);
    EXPECT_EQ(b.offset, 1u) << "streams count independently";
    EXPECT_EQ(b.epoch, "e2");
    auto c = event("3");
    pos = h.append("ch:a", c, keep5, t0);
    EXPECT_EQ(c.offset, 2u);
    EXPECT_EQ(pos.epoch, "e1");
    EXPECT_EQ(h.current("ch:a", t0).offset, 2u);
    EXPECT_EQ(h.current("ch:none", t0).offset, 0u);
    EXPECT_EQ(h.current("ch:none", t0).epoch, "");
}

TEST(memory_history, reads_what_came_after_an_offset_in_order) {
    auto h = make();
    append(h, "ch:a", 4);
    auto r = h.read("ch:a", "e1", 1, 100, t0);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(offsets(r), (std::vector<std::uint64_t>{2, 3, 4}));
    EXPECT_EQ(r.events[0]->data, "1");
    EXPECT_EQ(r.top.offset, 4u);
    EXPECT_EQ(r.top.epoch, "e1");
    r = h.read("ch:a", "e1", 4, 100, t0);
    EXPECT_TRUE(r.complete) << "nothing missed";
    EXPECT_TRUE(r.events.empty());
    r = h.read("ch:a", "e1", 0, 2, t0);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(offsets(r), (std::vector<std::uint64_t>{1, 2})) << "limit";
}

TEST(memory_history, keeps_the_newest_size_events_and_refuses_what_was_trimmed) {
    auto h = make();
    append(h, "ch:a", 8);  // offsets 1..8, keeps 4..8
    auto r = h.read("ch:a", "e1", 3, 100, t0);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(offsets(r), (std::vector<std::uint64_t>{4, 5, 6, 7, 8}));
    r = h.read("ch:a", "e1", 2, 100, t0);
    EXPECT_FALSE(r.complete) << "offset 3 is gone";
    EXPECT_TRUE(r.events.empty());
    EXPECT_EQ(r.top.offset, 8u);
}

TEST(memory_history, another_epoch_or_a_future_offset_is_not_recoverable) {
    auto h = make();
    append(h, "ch:a", 3);
    EXPECT_FALSE(h.read("ch:a", "other", 1, 100, t0).complete);
    EXPECT_FALSE(h.read("ch:a", "e1", 9, 100, t0).complete);
}

TEST(memory_history, an_empty_epoch_recovers_a_stream_that_began_since) {
    auto h = make();
    EXPECT_TRUE(h.read("ch:a", "", 0, 100, t0).complete) << "no stream, nothing missed";
    EXPECT_FALSE(h.read("ch:a", "gone", 7, 100, t0).complete) << "a stream that was lost";
    append(h, "ch:a", 3);
    auto r = h.read("ch:a", "", 0, 100, t0);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(offsets(r), (std::vector<std::uint64_t>{1, 2, 3}));
    append(h, "ch:a", 5);  // 1..8, keeps 4..8: offset 1 is gone
    EXPECT_FALSE(h.read("ch:a", "", 0, 100, t0).complete);
}

TEST(memory_history, a_stream_expires_ttl_after_its_last_event_and_comes_back_in_a_new_epoch) {
    auto h = make();
    append(h, "ch:a", 2, t0);
    append(h, "ch:a", 1, t0 + 50s);  // the ttl counts from here
    EXPECT_EQ(h.current("ch:a", t0 + 109s).offset, 3u);
    EXPECT_EQ(h.current("ch:a", t0 + 110s).offset, 0u) << "expired";
    EXPECT_EQ(h.streams(), 0u);
    EXPECT_FALSE(h.read("ch:a", "e1", 3, 100, t0 + 111s).complete);
    auto e = event("again");
    const auto pos = h.append("ch:a", e, keep5, t0 + 111s);
    EXPECT_EQ(pos.offset, 1u);
    EXPECT_EQ(pos.epoch, "e2");
}

TEST(memory_history, the_memory_budget_takes_from_the_stream_expiring_first) {
    const std::string big(1000, 'x');
    auto h = make(20 * 1000);
    const history::policy many{1000, 60s};
    for (int i = 0; i < 8; ++i) {
        auto e = event(big);
        h.append("ch:old", e, many, t0);
    }
    for (int i = 0; i < 30; ++i) {
        auto e = event(big);
        h.append("ch:new", e, many, t0 + 1s);
    }
    EXPECT_LE(h.bytes(), h.budget());
    EXPECT_GT(h.evicted(), 0u);
    EXPECT_EQ(h.current("ch:old", t0 + 2s).offset, 0u) << "emptied first, then forgotten";
    auto r = h.read("ch:new", "e2", 29, 100, t0 + 2s);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(offsets(r), (std::vector<std::uint64_t>{30}));
    EXPECT_FALSE(h.read("ch:new", "e2", 1, 100, t0 + 2s).complete) << "its oldest went too";
}

TEST(memory_history, the_newest_event_is_kept_even_when_it_alone_exceeds_the_budget) {
    auto h = make(500);
    auto e = event(std::string(2000, 'x'));
    h.append("ch:a", e, keep5, t0);
    auto r = h.read("ch:a", "e1", 0, 10, t0);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.events.size(), 1u);
}

TEST(memory_history, removing_a_stream_frees_it_and_starts_a_new_epoch) {
    auto h = make();
    append(h, "ch:a", 3);
    EXPECT_TRUE(h.remove("ch:a"));
    EXPECT_FALSE(h.remove("ch:a"));
    EXPECT_EQ(h.bytes(), 0u);
    auto e = event("x");
    EXPECT_EQ(h.append("ch:a", e, keep5, t0).epoch, "e2");
}

TEST(memory_history, epochs_are_random_and_short) {
    const auto a = history::new_epoch(), b = history::new_epoch();
    EXPECT_EQ(a.size(), 8u);
    EXPECT_NE(a, b);
    EXPECT_EQ(a.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyz"), std::string::npos);
}
