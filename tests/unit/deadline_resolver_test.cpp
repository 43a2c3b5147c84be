#include <wsgate/support/deadline_resolver.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

using namespace wsgate;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

struct outcome {
    int calls = 0;
    boost::system::error_code ec;
    deadline_resolver::endpoints found;
};

deadline_resolver::handler record(outcome& o) {
    return [&o](const boost::system::error_code& ec, const deadline_resolver::endpoints& found) {
        ++o.calls;
        o.ec = ec;
        o.found = found;
    };
}

}  // namespace

TEST(deadline_resolver, takes_ip_addresses_as_they_are_and_never_inside_the_call) {
    net::io_context ioc;
    deadline_resolver resolver(ioc.get_executor());
    for (const char* address : {"127.0.0.1", "::1"}) {
        outcome o;
        resolver.async_resolve(address, 6379, std::chrono::steady_clock::now() + 1s, record(o));
        EXPECT_EQ(o.calls, 0) << address;
        ioc.restart();
        ioc.run_for(1s);
        EXPECT_EQ(o.calls, 1) << address;
        EXPECT_FALSE(o.ec) << o.ec.message();
        ASSERT_EQ(o.found.size(), 1u);
        EXPECT_EQ(o.found[0].address().to_string(), address);
        EXPECT_EQ(o.found[0].port(), 6379);
    }
}

TEST(deadline_resolver, resolves_names_off_the_loop) {
    net::io_context ioc;
    deadline_resolver resolver(ioc.get_executor());
    outcome o;
    resolver.async_resolve("localhost", 80, std::chrono::steady_clock::now() + 5s, record(o));
    ioc.run_for(5s);
    EXPECT_EQ(o.calls, 1);
    EXPECT_FALSE(o.ec) << o.ec.message();
    ASSERT_FALSE(o.found.empty());
    EXPECT_TRUE(o.found[0].address().is_loopback());
}

TEST(deadline_resolver, cancel_ends_the_lookup_with_operation_aborted_once) {
    net::io_context ioc;
    deadline_resolver resolver(ioc.get_executor());
    outcome o;
    resolver.async_resolve("localhost", 80, std::chrono::steady_clock::now() + 5s, record(o));
    resolver.cancel();
    EXPECT_EQ(o.calls, 0);
    ioc.run_for(5s);
    EXPECT_EQ(o.calls, 1);
    EXPECT_EQ(o.ec, net::error::operation_aborted);
    // Even an answer that was already there counts as cancelled.
    outcome numeric;
    resolver.async_resolve("127.0.0.1", 80, std::chrono::steady_clock::now() + 5s,
                           record(numeric));
    resolver.cancel();
    ioc.restart();
    ioc.run_for(1s);
    EXPECT_EQ(numeric.calls, 1);
    EXPECT_EQ(numeric.ec, net::error::operation_aborted);
}

TEST(deadline_resolver, a_deadline_already_past_times_out) {
    net::io_context ioc;
    deadline_resolver resolver(ioc.get_executor());
    outcome o;
    // The timer fires at once; the lookup (of a name that may never resolve) is dropped.
    resolver.async_resolve("wsgate-test.invalid", 80, std::chrono::steady_clock::now() - 1s,
                           record(o));
    ioc.run_for(5s);
    EXPECT_EQ(o.calls, 1);
    EXPECT_EQ(o.ec, net::error::timed_out) << o.ec.message();
}

TEST(deadline_resolver, a_lookup_dropped_with_its_resolver_calls_nobody) {
    net::io_context ioc;
    outcome o;
    {
        deadline_resolver resolver(ioc.get_executor());
        resolver.async_resolve("127.0.0.1", 80, std::chrono::steady_clock::now() + 1s, record(o));
    }
    ioc.run_for(1s);
    EXPECT_EQ(o.calls, 0);
}
