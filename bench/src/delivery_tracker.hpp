#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "latency_histogram.hpp"

namespace wsgate_bench {

// What the publisher puts in each event's data: {"c":<stream>,"pad":"…","seq":<n>,"t":<ns>}.
struct event_stamp {
    long seq = 0;
    int stream = 0;            // the API connection it was published on (order holds per stream)
    std::int64_t sent_ns = 0;  // CLOCK_MONOTONIC when the request was sent
};

// The data object for an event, padded with 'x' to `size` bytes when that is larger.
std::string event_data(const event_stamp& stamp, int size);

// Reads the stamp from a server `event` frame; false for any other frame.
bool parse_event_stamp(std::string_view frame, event_stamp& stamp);

// Counts deliveries per subscriber: unique, duplicated, out of order, and their latency.
// Subscriber i listens on channel i % channels; event seq goes to channel seq % channels.
class delivery_tracker {
  public:
    delivery_tracker(int subscribers, int channels, int streams);

    void note_published(long seq);
    void record(int subscriber, const event_stamp& stamp, std::int64_t now_ns);

    long expected() const { return expected_; }
    long delivered() const { return delivered_; }
    long duplicates() const { return duplicates_; }
    long out_of_order() const { return out_of_order_; }
    long lost() const { return expected_ - delivered_; }
    bool complete() const { return delivered_ >= expected_; }
    std::int64_t last_delivery_ns() const { return last_delivery_ns_; }
    const latency_histogram& latency() const { return latency_; }

  private:
    int channels_;
    int streams_;
    std::vector<long> subscribers_per_channel_;
    std::vector<std::vector<bool>> seen_;  // per subscriber, by seq / channels
    std::vector<long> last_seq_;           // per subscriber and stream
    long expected_ = 0;
    long delivered_ = 0;
    long duplicates_ = 0;
    long out_of_order_ = 0;
    std::int64_t last_delivery_ns_ = 0;
    latency_histogram latency_;
};

}  // namespace wsgate_bench
