#include <wsgate/auth/subscribe_checker.hpp>
#include <wsgate/upstream/signature.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace wsgate;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

constexpr const char* secret = "0123456789abcdef-perm";

/// A webhook on loopback port 0: records every request and answers it with what `answer`
/// says, or, while `hold` is set, keeps the answers until release(). Keep-alive, like the pool.
class fake_webhook {
public:
    struct answer_t {
        unsigned status = 204;
        std::string body;
    };
    using request = http::request<http::string_body>;

    explicit fake_webhook(net::io_context& ioc) : acceptor_(ioc, {net::ip::address_v4::loopback(), 0}) {
        accept();
    }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    std::function<answer_t(const request&)> answer = [](const request&) { return answer_t{}; };
    bool hold = false;
    std::vector<request> requests;

    void release() {
        hold = false;
        auto held = std::move(held_);
        for (auto& s : held) s->respond();
    }

    static std::string channel_of(const request& r) { return json::parse(r.body())["data"]["channel"]; }

private:
    struct session : std::enable_shared_from_this<session> {
        session(fake_webhook& o, tcp::socket s) : owner(o), socket(std::move(s)) {}

        void read() {
            req = {};
            http::async_read(socket, buffer, req, [self = shared_from_this()](beast::error_code ec,
                                                                              std::size_t) {
                if (ec) return;
                self->owner.requests.push_back(self->req);
                if (self->owner.hold)
                    self->owner.held_.push_back(self);
                else
                    self->respond();
            });
        }

        void respond() {
            const auto a = owner.answer(req);
            res = {static_cast<http::status>(a.status), 11};
            res.body() = a.body;
            if (!a.body.empty()) res.set(http::field::content_type, "application/json");
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            http::async_write(socket, res, [self = shared_from_this()](beast::error_code ec,
                                                                       std::size_t) {
                if (!ec) self->read();
            });
        }

        fake_webhook& owner;
        tcp::socket socket;
        beast::flat_buffer buffer;
        request req;
        http::response<http::string_body> res;
    };

    void accept() {
        acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
            if (ec) return;
            std::make_shared<session>(*this, std::move(s))->read();
            accept();
        });
    }

    tcp::acceptor acceptor_;
    std::vector<std::shared_ptr<session>> held_;
};

service_config webhook_at(std::uint16_t port, std::chrono::milliseconds timeout = 5000ms) {
    service_config c;
    c.name = "perm";
    c.transport = "http";
    c.url = "http://127.0.0.1:" + std::to_string(port) + "/check";
    c.host = "127.0.0.1";
    c.port = port;
    c.path = "/check";
    c.secret = secret;
    c.timeout = timeout;
    return c;
}

struct result {
    bool done = false;
    bool allowed = false;
    std::string reason;
};

class subscribe_checker_test : public ::testing::Test {
protected:
    net::io_context ioc;
    fake_webhook server{ioc};
    std::optional<auth::subscribe_checker> checker;

    void make_checker(std::chrono::milliseconds ttl = 60s, std::size_t max_entries = 10000,
                      std::chrono::milliseconds timeout = 5000ms) {
        checker.emplace(ioc.get_executor(), webhook_at(server.port(), timeout), ttl, max_entries);
    }

    template <typename Predicate>
    bool run_until(Predicate done, std::chrono::milliseconds limit = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            ioc.run_one_for(10ms);
        }
        return true;
    }

    void run_for(std::chrono::milliseconds d) {
        net::steady_timer t(ioc, d);
        bool fired = false;
        t.async_wait([&](beast::error_code) { fired = true; });
        run_until([&] { return fired; });
    }

    /// Starts a check; the result fills in when the loop runs.
    std::shared_ptr<result> start(const std::string& user, const std::string& channel,
                                  const std::string& connection = "conn-1") {
        auto r = std::make_shared<result>();
        checker->check(connection, user, channel, [r](bool allowed, std::string reason) {
            EXPECT_FALSE(r->done) << "a handler ran twice";
            r->done = true;
            r->allowed = allowed;
            r->reason = std::move(reason);
        });
        return r;
    }

    result check(const std::string& user, const std::string& channel,
                 const std::string& connection = "conn-1") {
        auto r = start(user, channel, connection);
        EXPECT_TRUE(run_until([&] { return r->done; })) << "no answer for " << channel;
        return *r;
    }
};

}  // namespace

TEST_F(subscribe_checker_test, asks_the_webhook_with_a_signed_body) {
    make_checker();
    auto r = check("alice", "room:1", "i-7");
    EXPECT_TRUE(r.allowed);
    EXPECT_EQ(r.reason, "");
    ASSERT_EQ(server.requests.size(), 1u);
    const auto& req = server.requests[0];
    EXPECT_EQ(req.method(), http::verb::post);
    EXPECT_EQ(req.target(), "/check");
    EXPECT_EQ(req[http::field::content_type], "application/json");
    const std::string timestamp(req["X-Wsgate-Timestamp"]);
    ASSERT_FALSE(timestamp.empty());
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    EXPECT_LE(std::abs(std::stoll(timestamp) - now), 60);
    EXPECT_EQ(req["X-Wsgate-Signature"], request_signature(secret, timestamp, req.body()));
    EXPECT_NE(req["X-Wsgate-Signature"], request_signature("another-secret-0000", timestamp, req.body()));
    const auto body = json::parse(req.body());
    EXPECT_EQ(body, json::parse(R"({"service":"perm","connection":"i-7","user":"alice",
                                    "data":{"channel":"room:1"}})"));

    check("", "room:1", "i-8");
    ASSERT_EQ(server.requests.size(), 2u);
    EXPECT_TRUE(json::parse(server.requests[1].body())["user"].is_null());
}

TEST_F(subscribe_checker_test, the_webhooks_answer_allows_or_denies) {
    server.answer = [](const fake_webhook::request& req) -> fake_webhook::answer_t {
        const auto ch = fake_webhook::channel_of(req);
        if (ch == "a:204") return {204, ""};
        if (ch == "a:200-empty") return {200, ""};
        if (ch == "a:allow-true") return {200, R"({"allow":true})"};
        if (ch == "a:other-json") return {200, R"({"ok":1})"};
        if (ch == "d:403") return {403, R"({"error":"no"})"};
        if (ch == "d:404") return {404, ""};
        if (ch == "d:allow-false") return {200, R"({"allow":false})"};
        return {200, R"({"allow":false,"reason":"not a member"})"};
    };
    make_checker();
    for (const char* ch : {"a:204", "a:200-empty", "a:allow-true", "a:other-json"}) {
        auto r = check("alice", ch);
        EXPECT_TRUE(r.allowed) << ch;
        EXPECT_EQ(r.reason, "") << ch;
    }
    for (const char* ch : {"d:403", "d:404", "d:allow-false"}) {
        auto r = check("alice", ch);
        EXPECT_FALSE(r.allowed) << ch;
        EXPECT_EQ(r.reason, std::string("the subscribe check refused channel '") + ch + "'");
    }
    auto r = check("alice", "d:with-reason");
    EXPECT_FALSE(r.allowed);
    EXPECT_EQ(r.reason, "the subscribe check refused channel 'd:with-reason': not a member");
    const auto& s = checker->stats();
    EXPECT_EQ(s.checks, 8u);
    EXPECT_EQ(s.requests, 8u);
    EXPECT_EQ(s.allowed, 4u);
    EXPECT_EQ(s.denied, 4u);
    EXPECT_EQ(s.failed, 0u);
}

TEST_F(subscribe_checker_test, unusable_answers_fail_closed_and_are_not_cached) {
    server.answer = [](const fake_webhook::request& req) -> fake_webhook::answer_t {
        const auto ch = fake_webhook::channel_of(req);
        if (ch == "f:500") return {500, ""};
        if (ch == "f:503") return {503, R"({"allow":true})"};
        if (ch == "f:not-json") return {200, "ok"};
        return {200, R"({"allow":"yes"})"};
    };
    make_checker();
    for (const char* ch : {"f:500", "f:503", "f:not-json", "f:allow-string"}) {
        auto r = check("alice", ch);
        EXPECT_FALSE(r.allowed) << ch;
        EXPECT_EQ(r.reason, std::string("the subscribe check for channel '") + ch +
                                "' is unavailable, try again later");
    }
    EXPECT_EQ(checker->stats().failed, 4u);
    EXPECT_EQ(checker->cached(), 0u);
    check("alice", "f:500");
    EXPECT_EQ(server.requests.size(), 5u) << "a failure is asked again";
}

TEST_F(subscribe_checker_test, answers_are_cached_per_user_and_channel) {
    server.answer = [](const fake_webhook::request& req) -> fake_webhook::answer_t {
        return {fake_webhook::channel_of(req) == "secret" ? 403u : 204u, ""};
    };
    make_checker();
    EXPECT_TRUE(check("alice", "room:1").allowed);
    EXPECT_TRUE(check("alice", "room:1", "conn-2").allowed) << "another connection, same user";
    EXPECT_FALSE(check("alice", "secret").allowed);
    auto again = check("alice", "secret");
    EXPECT_FALSE(again.allowed) << "denials are cached too";
    EXPECT_EQ(again.reason, "the subscribe check refused channel 'secret'");
    EXPECT_EQ(server.requests.size(), 2u);
    EXPECT_EQ(checker->stats().cache_hits, 2u);

    check("bob", "room:1");
    check("", "room:1");
    check("alice", "room:2");
    EXPECT_EQ(server.requests.size(), 5u) << "other users and channels are asked for";
    check("", "room:1");
    EXPECT_EQ(server.requests.size(), 5u);
    EXPECT_EQ(checker->cached(), 5u);
}

TEST_F(subscribe_checker_test, a_cached_answer_still_arrives_after_check_returns) {
    make_checker();
    check("alice", "room:1");
    auto r = start("alice", "room:1");
    EXPECT_FALSE(r->done);
    EXPECT_TRUE(run_until([&] { return r->done; }));
    EXPECT_TRUE(r->allowed);
    EXPECT_EQ(checker->stats().cache_hits, 1u);
}

TEST_F(subscribe_checker_test, cached_answers_expire) {
    server.answer = [](const fake_webhook::request& req) -> fake_webhook::answer_t {
        return {fake_webhook::channel_of(req) == "secret" ? 403u : 204u, ""};
    };
    make_checker(500ms);  // long enough for the first four checks even under a sanitizer
    check("alice", "room:1");
    check("alice", "secret");
    check("alice", "room:1");
    check("alice", "secret");
    EXPECT_EQ(server.requests.size(), 2u);
    run_for(600ms);
    EXPECT_TRUE(check("alice", "room:1").allowed);
    EXPECT_FALSE(check("alice", "secret").allowed);
    EXPECT_EQ(server.requests.size(), 4u);
}

TEST_F(subscribe_checker_test, a_zero_ttl_caches_nothing) {
    make_checker(0ms);
    check("alice", "room:1");
    check("alice", "room:1");
    EXPECT_EQ(server.requests.size(), 2u);
    EXPECT_EQ(checker->cached(), 0u);
}

TEST_F(subscribe_checker_test, the_cache_holds_at_most_max_entries_dropping_the_oldest) {
    make_checker(60s, 3);
    for (int i = 1; i <= 5; ++i) check("alice", "room:" + std::to_string(i));
    EXPECT_EQ(checker->cached(), 3u);
    EXPECT_EQ(server.requests.size(), 5u);
    check("alice", "room:5");
    check("alice", "room:3");
    EXPECT_EQ(server.requests.size(), 5u) << "the newest three are kept";
    check("alice", "room:1");
    EXPECT_EQ(server.requests.size(), 6u) << "the oldest was dropped";
    EXPECT_EQ(checker->cached(), 3u);
}

TEST_F(subscribe_checker_test, concurrent_checks_for_one_key_share_one_request) {
    make_checker();
    server.hold = true;
    auto first = start("alice", "room:1", "conn-1");
    ASSERT_TRUE(run_until([&] { return server.requests.size() == 1; }));
    auto second = start("alice", "room:1", "conn-2");
    auto third = start("alice", "room:1", "conn-1");
    auto other = start("bob", "room:1", "conn-3");
    ASSERT_TRUE(run_until([&] { return server.requests.size() == 2; }));
    EXPECT_EQ(fake_webhook::channel_of(server.requests[1]), "room:1");
    EXPECT_EQ(json::parse(server.requests[1].body())["user"], "bob");
    EXPECT_FALSE(first->done);
    EXPECT_FALSE(second->done);
    server.release();
    ASSERT_TRUE(run_until([&] { return first->done && second->done && third->done && other->done; }));
    EXPECT_TRUE(first->allowed && second->allowed && third->allowed && other->allowed);
    run_for(50ms);
    EXPECT_EQ(server.requests.size(), 2u);
    EXPECT_EQ(checker->stats().coalesced, 2u);
    EXPECT_EQ(checker->stats().requests, 2u);
}

TEST_F(subscribe_checker_test, a_webhook_that_is_down_denies_with_a_distinct_reason) {
    std::uint16_t closed_port = 0;
    {
        tcp::acceptor a(ioc, {net::ip::address_v4::loopback(), 0});
        closed_port = a.local_endpoint().port();
    }
    checker.emplace(ioc.get_executor(), webhook_at(closed_port), 60s, 100);
    auto first = start("alice", "room:1");
    auto second = start("alice", "room:1", "conn-2");
    ASSERT_TRUE(run_until([&] { return first->done && second->done; }));
    EXPECT_FALSE(first->allowed);
    EXPECT_EQ(first->reason, "the subscribe check for channel 'room:1' is unavailable, try again later");
    EXPECT_FALSE(second->allowed);
    EXPECT_EQ(second->reason, first->reason);
    EXPECT_EQ(checker->stats().failed, 1u);
    EXPECT_FALSE(check("alice", "room:1").allowed);
    EXPECT_EQ(checker->stats().requests, 2u) << "failures are not cached";
    EXPECT_EQ(checker->stats().failed, 2u);
}

TEST_F(subscribe_checker_test, a_webhook_that_does_not_answer_in_time_denies) {
    make_checker(60s, 100, 200ms);
    server.hold = true;
    auto r = check("alice", "room:1");
    EXPECT_FALSE(r.allowed);
    EXPECT_EQ(r.reason, "the subscribe check for channel 'room:1' is unavailable, try again later");
    EXPECT_EQ(checker->stats().failed, 1u);
}
