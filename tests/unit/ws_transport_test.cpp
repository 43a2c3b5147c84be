#include <wsgate/session/ws_transport.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

using namespace wsgate;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// A transport on one end of a loopback TCP connection, and the plain socket at the other end.
struct loopback_pair {
    net::io_context ioc;
    metrics counters;
    tcp::socket peer{ioc};
    std::shared_ptr<ws_transport> transport;

    loopback_pair() {
        tcp::acceptor acceptor(ioc, {net::ip::address_v4::loopback(), 0});
        peer.connect(acceptor.local_endpoint());
        transport = std::make_shared<ws_transport>(acceptor.accept(), counters);
        transport->set_owner(transport);
    }

    std::string read_exactly(std::size_t n) {
        std::string got(n, '\0');
        net::read(peer, net::buffer(got));
        return got;
    }
};

}  // namespace

TEST(ws_transport, a_burst_of_frames_leaves_in_one_gather_write_in_order) {
    loopback_pair p;
    std::string expected;
    for (int i = 0; i < 50; ++i) {
        auto f = make_text_frame("event " + std::to_string(i));
        expected += f->wire();
        p.transport->send(f);
    }
    EXPECT_EQ(p.transport->queued_bytes(), expected.size());
    EXPECT_EQ(p.counters.writes, 0u) << "nothing is written before the loop turns";
    p.ioc.run();
    EXPECT_EQ(p.read_exactly(expected.size()), expected);
    EXPECT_EQ(p.counters.writes, 1u);
    EXPECT_EQ(p.counters.frames_sent, 50u);
    EXPECT_EQ(p.counters.bytes_sent, expected.size());
    EXPECT_EQ(p.transport->queued_bytes(), 0u);
}

TEST(ws_transport, more_frames_than_one_gather_holds_still_arrive_in_order) {
    loopback_pair p;
    std::string expected;
    for (int i = 0; i < 300; ++i) {
        auto f = make_text_frame(std::to_string(i));
        expected += f->wire();
        p.transport->send(f);
    }
    p.ioc.run();
    EXPECT_EQ(p.read_exactly(expected.size()), expected);
    EXPECT_EQ(p.counters.frames_sent, 300u);
    EXPECT_GE(p.counters.writes, 300u / 64);
    EXPECT_LE(p.counters.writes, 300u / 64 + 1);
}

TEST(ws_transport, discarding_keeps_nothing_that_is_not_on_the_wire) {
    loopback_pair p;
    for (int i = 0; i < 10; ++i) p.transport->send(make_text_frame("x"));
    p.transport->discard_queued();
    EXPECT_EQ(p.transport->queued_bytes(), 0u);
    p.ioc.run();
    EXPECT_EQ(p.counters.writes, 0u);
}

TEST(ws_transport, nothing_follows_the_close_frame) {
    loopback_pair p;
    p.transport->send(make_text_frame("before"));
    const auto close_frame = make_close_frame(1000, "");
    p.transport->send_close(close_frame);
    EXPECT_TRUE(p.transport->close_queued());
    p.transport->send(make_text_frame("after"));
    p.transport->send_close(make_close_frame(1001, "again"));
    p.ioc.run();
    const std::string expected = make_text_frame("before")->wire() + close_frame->wire();
    EXPECT_EQ(p.read_exactly(expected.size()), expected);
    EXPECT_EQ(p.counters.frames_sent, 2u);
    EXPECT_EQ(p.transport->queued_bytes(), 0u);
}

TEST(ws_transport, closing_now_drops_the_queue_and_aborts_reads) {
    loopback_pair p;
    p.transport->send(make_text_frame("never"));
    std::optional<boost::beast::error_code> waited;
    p.transport->socket().async_wait(tcp::socket::wait_read,
                                     [&](boost::beast::error_code ec) { waited = ec; });
    p.transport->close_now();
    EXPECT_EQ(p.transport->queued_bytes(), 0u);
    p.ioc.run();
    ASSERT_TRUE(waited.has_value());
    EXPECT_EQ(*waited, net::error::operation_aborted);
    EXPECT_EQ(p.counters.writes, 0u);
    char byte;
    boost::beast::error_code ec;
    p.peer.read_some(net::buffer(&byte, 1), ec);
    EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
}

TEST(ws_transport, teardown_flushes_then_closes_gracefully) {
    loopback_pair p;
    p.transport->send(make_text_frame("last words"));
    bool closed = false;
    p.transport->async_flush_and_close([&](boost::beast::error_code ec) {
        EXPECT_FALSE(ec);
        closed = true;
    });
    // The peer reads everything, sees the FIN, and closes its side: the teardown completes.
    p.ioc.run_for(std::chrono::milliseconds(200));
    const std::string expected = make_text_frame("last words")->wire();
    EXPECT_EQ(p.read_exactly(expected.size()), expected);
    char byte;
    boost::beast::error_code ec;
    p.peer.read_some(net::buffer(&byte, 1), ec);
    EXPECT_EQ(ec, net::error::eof);
    p.peer.close();
    p.ioc.restart();
    p.ioc.run_for(std::chrono::seconds(1));
    EXPECT_TRUE(closed);
}

TEST(ws_transport, an_io_context_destroyed_with_a_flush_pending_takes_its_transports_along) {
    auto ioc = std::make_unique<net::io_context>();
    metrics counters;
    {
        tcp::acceptor acceptor(*ioc, {net::ip::address_v4::loopback(), 0});
        tcp::socket peer(*ioc);
        peer.connect(acceptor.local_endpoint());
        auto transport = std::make_shared<ws_transport>(acceptor.accept(), counters);
        transport->set_owner(transport);
        transport->send(make_text_frame("never written"));
        // Only a queued handler owns the transport from now on: the io_context destroys it on
        // its way out, after its flush queue was shut down.
        net::post(*ioc, [owner = std::move(transport)] {});
    }
    ioc.reset();
    EXPECT_EQ(counters.writes, 0u);
}

TEST(ws_transport, unread_bytes_are_read_before_the_socket_and_in_chunks) {
    loopback_pair p;
    EXPECT_FALSE(p.transport->has_buffered_input());
    p.transport->unread("");
    EXPECT_FALSE(p.transport->has_buffered_input()) << "nothing to give back";
    // The bytes the HTTP reader took beyond the upgrade request, and later ones on the socket.
    p.transport->unread("first frames");
    net::write(p.peer, net::buffer(std::string("from the socket")));
    EXPECT_TRUE(p.transport->has_buffered_input());

    char buffer[5];
    boost::beast::error_code ec;
    std::string got;
    while (p.transport->has_buffered_input()) {
        const std::size_t n = p.transport->read_some(net::buffer(buffer), ec);
        ASSERT_FALSE(ec) << ec.message();
        got.append(buffer, n);
    }
    EXPECT_EQ(got, "first frames");
    // Then the socket (non-blocking: wait until the bytes are there).
    p.transport->socket().wait(tcp::socket::wait_read);
    char rest[64];
    const std::size_t n = p.transport->read_some(net::buffer(rest), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(std::string(rest, n), "from the socket");
}
