#include "client_pool.hpp"

namespace wsgate_bench {

namespace {

constexpr int max_handshaking = 256;

bool is_ack(std::string_view text) { return text.rfind("{\"type\":\"ack\"", 0) == 0; }
bool is_welcome(std::string_view text) { return text.rfind("{\"type\":\"welcome\"", 0) == 0; }
bool is_error(std::string_view text) { return text.rfind("{\"type\":\"error\"", 0) == 0; }

}  // namespace

std::string subscribe_request(const bench_context& context, int client_index, bool recover) {
    return "{\"type\":\"subscribe\",\"channel\":\"" + context.channel_prefix +
           std::to_string(client_index % context.options.channels) + "\"" +
           (recover ? ",\"recover\":{\"epoch\":\"\",\"offset\":0}" : "") + ",\"id\":1}";
}

void report_pool_failures(const client_pool& pool, const std::string& what, report& out) {
    if (pool.failures() > 0)
        out.fail(std::to_string(pool.failures()) + " " + what +
                 " connection(s) failed; first: " + pool.first_error());
}

client_pool::client_pool(event_loop& loop, const bench_context& context, int size, join how,
                         delivery_tracker* tracker)
    : context_(context), how_(how), tracker_(tracker), is_ready_(std::size_t(size), 0) {
    conns_.reserve(std::size_t(size));
    for (int i = 0; i < size; ++i) conns_.push_back(std::make_unique<ws_conn>(loop, *this, i));
}

void client_pool::pump() {
    while (started_ < size() && handshaking_ < max_handshaking) {
        const int index = started_++;
        const endpoint& to = context_.ws[std::size_t(index) % context_.ws.size()];
        const auto source = source_address_for(to, index);
        ++handshaking_;
        conns_[std::size_t(index)]->start(to, source ? &*source : nullptr);
    }
}

void client_pool::close_all() {
    for (auto& conn : conns_) conn->abort();
}

void client_pool::on_open(ws_conn& conn) {
    if (how_ != join::welcome)
        conn.send_text(subscribe_request(context_, conn.index(), how_ == join::recover));
}

void client_pool::on_text(ws_conn& conn, std::string_view text) {
    event_stamp stamp;
    if (tracker_ != nullptr && parse_event_stamp(text, stamp))
        return tracker_->record(conn.index(), stamp, monotonic_ns());
    if (is_error(text)) return note_failure("error frame: " + std::string(text));
    if (how_ == join::welcome ? !is_welcome(text) : !is_ack(text)) return;
    if (how_ == join::recover && text.find("\"recovered\":true") == std::string_view::npos)
        return note_failure("not recovered: " + std::string(text));
    mark_ready(conn);
}

void client_pool::on_closed(ws_conn& conn, const std::string& error) {
    if (!is_ready_[std::size_t(conn.index())]) --handshaking_;
    note_failure(error.empty() ? "closed" : error);
}

void client_pool::mark_ready(ws_conn& conn) {
    char& flag = is_ready_[std::size_t(conn.index())];
    if (flag) return;
    flag = 1;
    ++ready_;
    --handshaking_;
}

void client_pool::note_failure(const std::string& error) {
    if (failures_++ == 0) first_error_ = error;
}

}  // namespace wsgate_bench
