// GET and DELETE /api/v1/history: a channel's history for backends (docs/history.md).
#include <wsgate/api/rest_api.hpp>

#include <nlohmann/json.hpp>

#include <wsgate/app/shared_state.hpp>
#include <wsgate/hub/hub.hpp>
#include <wsgate/support/decimal.hpp>

namespace wsgate {

namespace {

using json = nlohmann::json;

// One event of the answer; data spliced in as the publisher wrote it, never re-serialized.
void append_event(std::string& out, const envelope& e) {
    json head = {{"id", e.id}, {"event", e.event}, {"offset", e.offset}, {"ts", e.timestamp_ms}};
    out += head.dump(-1, ' ', false, json::error_handler_t::replace);
    out.pop_back();
    out += ",\"data\":";
    out += e.data;
    out += '}';
}

}  // namespace

void rest_api::history(const rest_request& req, responder respond) {
    std::string channel, epoch;
    std::optional<std::uint64_t> since, limit;
    for (const auto& [key, value] : req.query) {
        if (key == "channel") {
            channel = value;
        } else if (key == "epoch") {
            epoch = value;
        } else if (key == "since" || key == "limit") {
            auto n = parse_decimal(value);
            if (!n) return respond(error(400, "invalid_query", key + " must be an integer"));
            (key == "since" ? since : limit) = n;
        } else {
            return respond(error(400, "invalid_query", "unknown parameter '" + key.substr(0, 64) + "'"));
        }
    }
    if (!state_.names.valid(channel))
        return respond(error(400, "invalid_channel", state_.names.describe("channel")));
    if (!state_.channels.history_of(channel).on())
        return respond(error(404, "no_history", channel + " keeps no history (channels rule)"));
    if (state_.events == nullptr)
        return respond(error(503, "bus_unavailable", "the event bus is not available"));
    const std::string topic = hub::channel_topic(channel);
    metrics* stats = &state_.stats;
    if (req.method == "DELETE") {
        return state_.events->remove_history(topic, [respond, stats](bool ok) {
            if (!ok)
                return respond(error_response(*stats, 503, "bus_unavailable",
                                              "the history cannot be removed now; retry later"));
            rest_response r;
            r.status = 204;
            respond(std::move(r));
        });
    }
    const std::size_t max = state_.cfg.history.max_replay;
    if (limit && (*limit == 0 || *limit > max))
        return respond(error(400, "invalid_query",
                             "limit must be 1-" + std::to_string(max) + " (history.max_replay)"));
    if (!since && !epoch.empty())
        return respond(error(400, "invalid_query", "epoch is given with since"));
    state_.events->read_history(
        topic, epoch, since.value_or(history::from_oldest), limit.value_or(max),
        [respond, stats, channel](std::optional<history::read_result> r) {
            if (!r)
                return respond(error_response(*stats, 503, "bus_unavailable",
                                              "the history cannot be read now; retry later"));
            json head = {{"channel", channel},
                         {"epoch", r->top.epoch},
                         {"offset", r->top.offset},
                         {"complete", r->complete}};
            rest_response out;
            out.body = head.dump(-1, ' ', false, json::error_handler_t::replace);
            out.body.pop_back();
            out.body += ",\"events\":[";
            for (std::size_t i = 0; i < r->events.size(); ++i) {
                if (i > 0) out.body += ',';
                append_event(out.body, *r->events[i]);
            }
            out.body += "]}";
            respond(std::move(out));
        });
}

}  // namespace wsgate
