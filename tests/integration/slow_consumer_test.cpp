// A client that stops reading must not hold back anybody else.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "background_reader.hpp"
#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

namespace wsgate::test {
namespace {

using nlohmann::json;

std::string payload(int seq) { return std::to_string(seq) + ":" + std::string(32 * 1024, 'x'); }

TEST(slow_consumer, client_that_stops_reading_is_closed_while_others_receive_everything) {
    // 400 × 32 KiB is far more than the kernel buffers plus the default 2 MiB budget hold for
    // the stalled client. The publisher stays at most `window` events (1 MiB) ahead of the
    // reader, so the reader keeps within its budget however late a busy machine runs it.
    constexpr int event_count = 400;
    constexpr int window = 32;
    // The stalled client reads only after all 400 events went out, which takes seconds in a
    // sanitizer build: give its close handshake that long before the server drops the socket.
    gateway_process gw({"--timeouts.close_ms", "60000"});
    http_client api(gw.api_port());
    ws_client stalled, reader;
    stalled.set_receive_buffer(16 * 1024);
    stalled.connect(gw.public_port());
    stalled.subscribe("firehose");
    reader.connect(gw.public_port());
    reader.subscribe("firehose");

    std::vector<std::string> ids;
    {
        background_reader reading(reader, event_count);
        for (int seq = 0; seq < event_count; ++seq) {
            ASSERT_TRUE(reading.wait_for(seq > window ? seq - window : 0)) << "reader stuck";
            ids.push_back(api.publish_ok(channel_event("firehose", "chunk", payload(seq))));
        }
        const auto frames = reading.join();
        ASSERT_EQ(frames.size(), static_cast<std::size_t>(event_count));
        for (int seq = 0; seq < event_count; ++seq) {
            if (frames[seq].value("id", "") != ids[seq] || frames[seq]["data"] != payload(seq)) {
                FAIL() << "reader: event " << seq << " missing or out of order";
            }
        }
    }

    EXPECT_EQ(api.wait_metric("wsgate_slow_consumer_closes_total", 1), 1);

    // The close frame waits behind what the kernel already holds for the stalled client: it
    // arrives once the client reads again (before timeouts.close_ms drops the socket).
    const auto end = stalled.read_until_close();
    EXPECT_TRUE(end.close_frame) << end.error.message() << " after " << end.frames.size()
                                 << " events";
    EXPECT_EQ(end.code, 1008);
    EXPECT_EQ(end.reason, "slow consumer");
    EXPECT_LT(end.frames.size(), static_cast<std::size_t>(event_count));
    for (std::size_t i = 0; i < end.frames.size(); ++i) {
        ASSERT_EQ(end.frames[i].value("id", ""), ids[i]) << "stalled client: event " << i;
    }
    EXPECT_EQ(api.wait_metric("wsgate_closes_total{reason=\"slow_consumer\"}", 1), 1);
    EXPECT_EQ(api.wait_metric("wsgate_connections", 1), 1);
    expect_marker_next(api, {&reader});
}

}  // namespace
}  // namespace wsgate::test
