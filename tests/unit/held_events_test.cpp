#include <wsgate/history/idempotency_cache.hpp>
#include <wsgate/session/held_events.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace wsgate;
using namespace std::chrono_literals;

namespace {

frame_ptr frame(std::uint64_t offset) { return make_text_frame(std::to_string(offset)); }

std::vector<std::string> texts(const std::optional<std::vector<frame_ptr>>& frames) {
    std::vector<std::string> out;
    if (!frames) return {"(not held)"};
    for (const auto& f : *frames) out.emplace_back(f->payload());
    return out;
}

}  // namespace

history::position at(std::uint64_t offset) { return {"e", offset}; }

TEST(held_events, releases_only_what_came_after_the_history_in_order) {
    held_events h;
    EXPECT_TRUE(h.empty());
    EXPECT_FALSE(h.add("a", at(1), frame(1))) << "not held: delivered by the caller";
    h.hold("a");
    for (std::uint64_t o : {4, 5, 6, 7}) EXPECT_TRUE(h.add("a", at(o), frame(o)));
    EXPECT_FALSE(h.add("b", at(9), frame(9)));
    EXPECT_GT(h.bytes(), 0u);
    // The history ended at 5: 4 and 5 came with it, 6 and 7 follow it.
    EXPECT_EQ(texts(h.release("a", at(5))), (std::vector<std::string>{"6", "7"}));
    EXPECT_TRUE(h.empty());
    EXPECT_EQ(h.bytes(), 0u);
    EXPECT_FALSE(h.add("a", at(8), frame(8))) << "released: live again";
}

// The history was read on one connection, the live events come on another: an event the
// history gave may arrive after the release, and must not be delivered twice.
TEST(held_events, after_a_release_what_the_history_had_is_dropped_until_something_newer) {
    held_events h;
    h.hold("a");
    EXPECT_TRUE(h.add("a", at(3), frame(3)));
    EXPECT_EQ(texts(h.release("a", at(6))), (std::vector<std::string>{}));
    EXPECT_FALSE(h.empty()) << "the floor is kept";
    EXPECT_TRUE(h.add("a", at(5), frame(5))) << "late, and already replayed: dropped";
    EXPECT_TRUE(h.add("a", at(6), frame(6)));
    EXPECT_FALSE(h.add("a", at(7), frame(7))) << "newer: delivered";
    EXPECT_TRUE(h.empty()) << "and the floor is gone";
    EXPECT_FALSE(h.add("a", at(6), frame(6)));
    // Another epoch is not below the floor of this one.
    h.hold("b");
    h.release("b", at(9));
    EXPECT_FALSE(h.add("b", {"f", 1}, frame(1)));
    // Holding again while a floor is left holds.
    h.hold("c");
    h.release("c", at(4));
    h.hold("c");
    EXPECT_TRUE(h.add("c", at(5), frame(5)));
    EXPECT_EQ(texts(h.release("c", at(4))), (std::vector<std::string>{"5"}));
    EXPECT_TRUE(h.empty());
}

TEST(held_events, channels_are_held_and_dropped_independently) {
    held_events h;
    h.hold("a");
    h.hold("b");
    h.hold("a");  // once
    h.add("a", at(1), frame(1));
    h.add("b", at(1), frame(1));
    h.drop("b");
    EXPECT_FALSE(h.empty());
    EXPECT_EQ(texts(h.release("a", {"", 0})), (std::vector<std::string>{"1"}));
    EXPECT_FALSE(h.release("b", {"", 0}).has_value()) << "dropped: not held any more";
    EXPECT_EQ(h.bytes(), 0u);
}

TEST(idempotency_cache, remembers_a_key_for_its_window_only) {
    history::idempotency_cache keys(10s, 100);
    const auto t0 = history::idempotency_cache::clock::time_point{} + 1h;
    EXPECT_EQ(keys.find("k", t0), nullptr);
    keys.remember("k", {"i:1", {"e", 3}}, t0);
    const auto* first = keys.find("k", t0 + 9s);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->id, "i:1");
    EXPECT_EQ(first->at.offset, 3u);
    EXPECT_EQ(keys.find("k", t0 + 10s), nullptr) << "the window is over";
    EXPECT_EQ(keys.size(), 0u);
}

TEST(idempotency_cache, forgets_the_oldest_key_beyond_its_capacity) {
    history::idempotency_cache keys(10s, 2);
    const auto t0 = history::idempotency_cache::clock::time_point{} + 1h;
    keys.remember("a", {"1", {}}, t0);
    keys.remember("b", {"2", {}}, t0);
    keys.remember("c", {"3", {}}, t0);
    EXPECT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys.find("a", t0), nullptr);
    EXPECT_NE(keys.find("b", t0), nullptr);
    EXPECT_NE(keys.find("c", t0), nullptr);
}
