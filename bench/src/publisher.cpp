#include "publisher.hpp"

#include <algorithm>

#include "delivery_tracker.hpp"

namespace wsgate_bench {

namespace {

constexpr int count_bits = 20;  // a request's tag is first_seq << count_bits | event count

std::int64_t request_tag(long first_seq, int count) {
    return (std::int64_t(first_seq) << count_bits) | count;
}

}  // namespace

publisher::publisher(event_loop& loop, const bench_options& options, const endpoint& api,
                     std::string channel_prefix, long event_limit, accepted_handler on_accepted)
    : options_(options),
      api_(api),
      channel_prefix_(std::move(channel_prefix)),
      event_limit_(event_limit),
      on_accepted_(std::move(on_accepted)) {
    for (int i = 0; i < options.api_connections; ++i)
        pipelines_.push_back(std::make_unique<http_pipeline>(
            loop, options.inflight,
            [this](const http_response& r, std::int64_t tag) { on_response(r, tag); },
            [this](const std::string& e) { on_error(e); }));
}

bool publisher::connect() {
    for (auto& pipeline : pipelines_)
        if (!pipeline->connect_to(api_)) return false;
    return true;
}

int publisher::free_pipeline() {
    for (std::size_t tried = 0; tried < pipelines_.size(); ++tried) {
        const std::size_t index = (next_pipeline_ + tried) % pipelines_.size();
        if (pipelines_[index]->can_send()) {
            next_pipeline_ = index + 1;
            return int(index);
        }
    }
    return -1;
}

void publisher::pump() {
    const std::int64_t now = monotonic_ns();
    if (start_ns_ == 0) start_ns_ = now;
    const std::string path = options_.batch > 1 ? "/api/v1/publish/batch" : "/api/v1/publish";
    while (error_.empty() && next_seq_ < event_limit_) {
        if (next_send_ns() > now) return;
        const int stream = free_pipeline();
        if (stream < 0) return;
        const int count = int(std::min<long>(options_.batch, event_limit_ - next_seq_));
        pipelines_[std::size_t(stream)]->send(
            json_post_request(api_, path, request_body(next_seq_, count, stream), options_.api_key),
            request_tag(next_seq_, count));
        next_seq_ += count;
        ++requests_sent_;
    }
}

std::int64_t publisher::next_send_ns() const {
    if (options_.rate <= 0 || start_ns_ == 0 || next_seq_ >= event_limit_) return 0;
    return start_ns_ + std::int64_t(double(requests_sent_) * 1e9 / options_.rate);
}

bool publisher::finished() const {
    if (!error_.empty()) return true;
    if (next_seq_ < event_limit_) return false;
    return std::all_of(pipelines_.begin(), pipelines_.end(),
                       [](const auto& p) { return p->in_flight() == 0; });
}

std::string publisher::request_body(long first_seq, int count, int stream) const {
    const std::int64_t now = monotonic_ns();
    const bool batch = options_.batch > 1;
    std::string body = batch ? "[" : "";
    for (int i = 0; i < count; ++i) {
        const long seq = first_seq + i;
        if (i > 0) body += ',';
        body += "{\"channel\":\"" + channel_prefix_ + std::to_string(seq % options_.channels) +
                "\",\"event\":\"bench\",\"data\":" +
                event_data(event_stamp{seq, stream, now}, options_.size) + "}";
    }
    if (batch) body += ']';
    return body;
}

void publisher::on_response(const http_response& response, std::int64_t tag) {
    last_answer_ns_ = monotonic_ns();
    if (response.status != 202) {
        on_error("publish answered " + std::to_string(response.status) + ": " + response.body);
        return;
    }
    const long first_seq = long(tag >> count_bits);
    const int count = int(tag & ((1 << count_bits) - 1));
    for (long seq = first_seq; seq < first_seq + count; ++seq) on_accepted_(seq);
    events_accepted_ += count;
}

void publisher::on_error(const std::string& error) {
    if (error_.empty()) error_ = error;
}

}  // namespace wsgate_bench
