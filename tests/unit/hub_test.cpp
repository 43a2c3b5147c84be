#include <wsgate/hub/hub.hpp>

#include <gtest/gtest.h>

#include <map>
#include <vector>

using namespace wsgate;

namespace {

struct fake_client : subscriber {
    std::vector<frame_ptr> got;
    int go_aways = 0;
    void deliver(const frame_ptr& f) override { got.push_back(f); }
    void go_away(std::chrono::milliseconds, std::chrono::milliseconds) override { ++go_aways; }
};

struct topic_log {
    std::vector<std::pair<std::string, bool>> changes;
    hub::topic_callback callback() {
        return [this](const std::string& t, bool active) { changes.emplace_back(t, active); };
    }
};

frame_ptr frame(const char* text) { return make_text_frame(text); }

}  // namespace

TEST(hub, channel_frames_reach_only_subscribers) {
    hub h;
    fake_client a, b, c;
    h.add(a, "i-1", "");
    h.add(b, "i-2", "");
    h.add(c, "i-3", "");
    h.subscribe(a, "news", 10);
    h.subscribe(b, "news", 10);
    h.subscribe(c, "sports", 10);
    auto f = frame("x");
    EXPECT_EQ(h.send_to_channel("news", f), 2u);
    EXPECT_EQ(h.send_to_channel("weather", f), 0u);
    ASSERT_EQ(a.got.size(), 1u);
    EXPECT_EQ(a.got[0], f) << "the same frame object is shared, not copied";
    EXPECT_EQ(b.got.size(), 1u);
    EXPECT_TRUE(c.got.empty());
}

TEST(hub, first_subscriber_and_last_leaver_report_the_topic) {
    hub h;
    topic_log log;
    h.set_topic_callback(log.callback());
    fake_client a, b;
    h.add(a, "i-1", "");
    h.add(b, "i-2", "");
    h.subscribe(a, "news", 10);
    h.subscribe(b, "news", 10);
    EXPECT_TRUE(h.unsubscribe(a, "news"));
    EXPECT_FALSE(h.unsubscribe(a, "news"));
    h.unsubscribe(b, "news");
    const decltype(log.changes) expected{{"ch:news", true}, {"ch:news", false}};
    EXPECT_EQ(log.changes, expected);
    EXPECT_EQ(h.channels(), 0u) << "empty channels are erased";
}

TEST(hub, removing_a_client_drops_its_subscriptions_and_user) {
    hub h;
    topic_log log;
    h.set_topic_callback(log.callback());
    fake_client a;
    h.add(a, "i-1", "alice");
    h.subscribe(a, "x", 10);
    h.subscribe(a, "y", 10);
    EXPECT_EQ(h.subscriptions(), 2u);
    h.remove(a);
    EXPECT_EQ(h.connections(), 0u);
    EXPECT_EQ(h.subscriptions(), 0u);
    EXPECT_EQ(h.channels(), 0u);
    EXPECT_EQ(h.send_to_user("alice", frame("x")), 0u);
    EXPECT_EQ(h.send_to_connection("i-1", frame("x")), 0u);
    std::map<std::string, int> balance;
    for (const auto& [topic, active] : log.changes) balance[topic] += active ? 1 : -1;
    for (const auto& [topic, n] : balance) EXPECT_EQ(n, 0) << topic;
    EXPECT_EQ(balance.size(), 3u);  // ch:x, ch:y, user:alice
    h.remove(a);                    // twice is harmless
}

TEST(hub, duplicate_subscribe_is_idempotent_and_limit_holds) {
    hub h;
    fake_client a;
    h.add(a, "i-1", "");
    EXPECT_EQ(h.subscribe(a, "a", 2), hub::subscribe_result::added);
    EXPECT_EQ(h.subscribe(a, "a", 2), hub::subscribe_result::already_subscribed);
    EXPECT_EQ(h.subscribe(a, "b", 2), hub::subscribe_result::added);
    EXPECT_EQ(h.subscribe(a, "c", 2), hub::subscribe_result::limit_reached);
    EXPECT_EQ(h.subscriptions_of(a), 2u);
    EXPECT_EQ(h.send_to_channel("a", frame("x")), 1u);
    EXPECT_EQ(a.got.size(), 1u) << "a duplicate subscribe must not deliver twice";
}

TEST(hub, user_connection_and_broadcast_targets) {
    hub h;
    fake_client a1, a2, b, anon;
    h.add(a1, "i-1", "alice");
    h.add(a2, "i-2", "alice");
    h.add(b, "i-3", "bob");
    h.add(anon, "i-4", "");
    EXPECT_EQ(h.send_to_user("alice", frame("u")), 2u);
    EXPECT_EQ(h.send_to_connection("i-3", frame("c")), 1u);
    EXPECT_EQ(h.send_to_all(frame("all")), 4u);
    EXPECT_EQ(a1.got.size(), 2u);
    EXPECT_EQ(a2.got.size(), 2u);
    EXPECT_EQ(b.got.size(), 2u);
    EXPECT_EQ(anon.got.size(), 1u);
    h.remove(a1);
    EXPECT_EQ(h.send_to_user("alice", frame("u")), 1u);
}

TEST(hub, for_each_visits_every_client_once) {
    hub h;
    fake_client a, b;
    h.add(a, "i-1", "");
    h.add(b, "i-2", "u");
    h.for_each([](subscriber& s) { s.go_away({}, {}); });
    EXPECT_EQ(a.go_aways, 1);
    EXPECT_EQ(b.go_aways, 1);
}

TEST(hub, a_client_can_become_a_user_later) {
    hub h;
    topic_log topics;
    h.set_topic_callback(topics.callback());
    fake_client a;
    h.add(a, "c1", "");
    EXPECT_EQ(h.send_to_user("alice", frame("x")), 0u);
    h.set_user(a, "alice");
    EXPECT_EQ(h.send_to_user("alice", frame("y")), 1u);
    h.set_user(a, "bob");
    EXPECT_EQ(h.send_to_user("alice", frame("z")), 0u);
    EXPECT_EQ(h.send_to_user("bob", frame("w")), 1u);
    const std::vector<std::pair<std::string, bool>> expected{
        {"user:alice", true}, {"user:bob", true}, {"user:alice", false}};
    EXPECT_EQ(topics.changes, expected);
    h.remove(a);
    EXPECT_EQ(topics.changes.back(), (std::pair<std::string, bool>{"user:bob", false}));
}
