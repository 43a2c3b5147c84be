// A measurement, not a timed assertion: how fast events cross the cluster. It checks that every
// event arrives exactly once and in order, and prints the rates; it never fails for slowness.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"
#include "expectations.hpp"

namespace wsgate::test::e2e {
namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

TEST(e2e_throughput, events_per_second_through_redis_to_100_subscribers_on_three_instances) {
    constexpr int subscriber_count = 100;
    constexpr int event_count = 2000;
    constexpr int batch_size = 50;
    constexpr int reader_threads = 4;

    // Clients wait their turn to be read, silent, for as long as the run takes (a minute under
    // the sanitizers on a busy machine): no heartbeat may drop them meanwhile.
    cluster c(false, {"--heartbeat.interval_ms", "600000"});
    std::vector<std::unique_ptr<ws_client>> clients;
    for (int i = 0; i < subscriber_count; ++i) {
        // A generous receive timeout: on a slow machine a frame may take a while.
        clients.push_back(std::make_unique<ws_client>(std::chrono::seconds(30)));
        clients.back()->connect(c.port(static_cast<std::size_t>(i % 3)));
        clients.back()->subscribe("load");
    }
    c.wait_numsub("ch:load", 3);
    for (std::size_t i = 0; i < 3; ++i) {
        ASSERT_EQ(c.metric(i, "wsgate_subscriptions"), i == 0 ? 34 : 33);
    }

    // Readers: each thread owns a quarter of the clients and reads them one after the other
    // (the others' frames wait in their queues and socket buffers meanwhile). Each records the
    // ids it saw; order and completeness are checked after the run.
    std::vector<std::vector<std::string>> seen(subscriber_count);
    std::vector<std::string> errors(reader_threads);
    std::atomic<long long> last_frame_ns{0};
    const auto start = clock_type::now();
    std::vector<std::thread> readers;
    for (int t = 0; t < reader_threads; ++t) {
        readers.emplace_back([&, t] {
            try {
                for (int i = t; i < subscriber_count; i += reader_threads) {
                    auto& ids = seen[static_cast<std::size_t>(i)];
                    ids.reserve(event_count);
                    for (int seq = 0; seq < event_count; ++seq) {
                        const json frame = clients[static_cast<std::size_t>(i)]->read_json();
                        if (frame.value("channel", "") != "load" || frame["data"] != json{{"seq", seq}}) {
                            errors[t] = "subscriber " + std::to_string(i) + " expected seq " +
                                        std::to_string(seq) + ", got " + frame.dump();
                            return;
                        }
                        ids.push_back(frame.value("id", ""));
                    }
                }
                const long long ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         clock_type::now() - start)
                                         .count();
                long long previous = last_frame_ns.load();
                while (previous < ns && !last_frame_ns.compare_exchange_weak(previous, ns)) {
                }
            } catch (const std::exception& e) {
                errors[t] = e.what();
            }
        });
    }

    // The publisher: batches of 50 to instance a, each sent as soon as the previous one is
    // acknowledged (202 comes only once Redis took every event of the batch).
    std::vector<std::string> ids;
    std::string publish_error;
    try {
        const http_client api = c.api(0);
        for (int first = 0; first < event_count; first += batch_size) {
            json batch = json::array();
            for (int seq = first; seq < first + batch_size; ++seq) {
                batch.push_back(channel_event("load", "tick", {{"seq", seq}}));
            }
            const auto batch_ids = api.publish_batch_ok(batch);
            ids.insert(ids.end(), batch_ids.begin(), batch_ids.end());
        }
    } catch (const std::exception& e) {
        publish_error = e.what();
    }
    const double publish_s =
        std::chrono::duration<double>(clock_type::now() - start).count();
    for (auto& reader : readers) {
        reader.join();
    }
    ASSERT_EQ(publish_error, "");
    for (const auto& error : errors) {
        ASSERT_EQ(error, "");
    }
    const double total_s = static_cast<double>(last_frame_ns.load()) / 1e9;

    ASSERT_EQ(ids.size(), static_cast<std::size_t>(event_count));
    for (int i = 0; i < subscriber_count; ++i) {
        ASSERT_EQ(seen[static_cast<std::size_t>(i)], ids) << "subscriber " << i;
    }
    std::vector<ws_client*> all;
    for (auto& client : clients) {
        all.push_back(client.get());
    }
    expect_marker_next(c.api(1), all);  // nothing more than the 2,000 events arrived

    const double deliveries = static_cast<double>(event_count) * subscriber_count;
    std::cout << "[ figures  ] " << event_count << " events (batches of " << batch_size
              << " on one instance) to " << subscriber_count
              << " subscribers on 3 instances via Redis\n"
              << "[ figures  ] published in " << publish_s << " s: " << event_count / publish_s
              << " events/s accepted\n"
              << "[ figures  ] all delivered in " << total_s << " s: " << event_count / total_s
              << " events/s, " << deliveries / total_s << " deliveries/s\n";
    RecordProperty("events_per_second", std::to_string(event_count / total_s));
    RecordProperty("deliveries_per_second", std::to_string(deliveries / total_s));
}

}  // namespace
}  // namespace wsgate::test::e2e
