// libFuzzer target: the REST publish body parser, through rest_api::handle() on a local bus.
//
// Input: the first byte chooses the request, the rest is its body.
//   byte % 4 == 0   POST /api/v1/publish
//   byte % 4 == 1   POST /api/v1/publish/batch
//   byte % 4 >= 2   any request: "<method>\n<path>\n<content type>\n<authorization>\n<body>",
//                   on the listener role (byte / 4) % 3, with the API key "fuzz-key" required
//
// Checks: exactly one answer, a known status, a JSON body; every accepted event is delivered,
// round-trips through the envelope encoding and makes a valid client frame.

#include <wsgate/api/rest_api.hpp>
#include <wsgate/bus/local_bus.hpp>
#include <wsgate/protocol/server_message.hpp>

#include <boost/asio/io_context.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"

using namespace wsgate;
using nlohmann::json;

namespace {

struct gateway {
    explicit gateway(config c) : state(std::move(c)), api(state) {
        state.events = &bus;
        bus.on_message([this](const envelope& e) { delivered.push_back(e); });
    }

    boost::asio::io_context ioc;
    local_bus bus{ioc.get_executor()};
    shared_state state;
    rest_api api;
    std::vector<envelope> delivered;
};

config base_config() {
    config c;
    c.server.instance_id = "fuzz";
    c.limits.max_batch_events = 16;  // small enough for a fuzzer to reach 413
    return c;
}

gateway& open_gateway() {
    static gateway g(base_config());
    return g;
}

gateway& keyed_gateway() {
    static gateway g([] {
        auto c = base_config();
        c.auth.api_keys = {"fuzz-key", "other-key"};
        return c;
    }());
    return g;
}

// Topics the events of `body` would be published on, so that the bus delivers them here. Read
// with json_input like the API reads them (nlohmann refuses numbers beyond a double, which the
// API accepts).
std::vector<std::string> topics_of(std::string_view body) {
    namespace in = wsgate::json_input;
    constexpr std::size_t depth = 100000;
    std::vector<std::string> topics{"all"};
    auto add = [&](std::string_view text) {
        auto read = in::read_object(text, depth);
        const auto* item = std::get_if<in::object>(&read);
        if (item == nullptr) return;
        auto str = [](const in::object& j, const char* key) -> const std::string* {
            const auto* m = j.find(key);
            return m != nullptr && m->value.type == in::kind::string ? &m->string : nullptr;
        };
        if (auto* s = str(*item, "channel")) topics.push_back("ch:" + *s);
        if (auto* s = str(*item, "user")) topics.push_back("user:" + *s);
        if (auto* s = str(*item, "connection")) topics.push_back(connection_topic(*s));
        if (const auto* reply_to = item->find("reply_to")) {
            auto inner = in::read_object(reply_to->value.text, depth);
            if (const auto* r = std::get_if<in::object>(&inner))
                if (auto* s = str(*r, "connection")) topics.push_back(connection_topic(*s));
        }
    };
    auto items = in::read_array(body, depth);
    if (const auto* list = std::get_if<std::vector<in::raw_value>>(&items)) {
        for (const auto& item : *list) add(item.text);
    } else {
        add(body);
    }
    return topics;
}

std::string_view next_line(std::string_view& rest) {
    const auto nl = rest.find('\n');
    const auto line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    return line;
}

bool known_status(int status) {
    for (int s : {200, 202, 400, 401, 404, 405, 413, 415, 426, 503})
        if (status == s) return true;
    return false;
}

void check_delivered(const envelope& e) {
    const auto again = decode_envelope(encode(e));
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(encode(*again) == encode(e));
    std::string frame;
    switch (e.frame) {
        case frame_kind::event:
            frame = protocol::event_message(e.kind == target_kind::channel ? e.target : "",
                                            e.event, e.id, e.data);
            break;
        case frame_kind::message: frame = protocol::service_message(e.service, e.data); break;
        case frame_kind::reply:
            frame = protocol::reply_message(e.reply_id, e.service, e.data);
            break;
    }
    FUZZ_CHECK(fuzz_valid_json(frame));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t mode = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

    rest_request req;
    listener_role role = listener_role::public_and_api;
    gateway* g = &open_gateway();
    if (mode % 4 < 2) {
        req.method = "POST";
        req.path = mode % 4 == 0 ? "/api/v1/publish" : "/api/v1/publish/batch";
        req.content_type = "application/json";
        req.body = rest;
    } else {
        g = &keyed_gateway();
        req.method = next_line(rest);
        req.path = next_line(rest);
        req.content_type = next_line(rest);
        req.authorization = next_line(rest);
        req.body = rest;
        role = static_cast<listener_role>((mode / 4) % 3);
    }

    const auto topics = topics_of(req.body);
    for (const auto& t : topics) g->bus.subscribe(t);

    int answers = 0;
    std::optional<rest_response> answer;
    g->api.handle(req, role, [&](rest_response r) {
        ++answers;
        answer = std::move(r);
    });
    g->ioc.poll();
    g->ioc.restart();
    for (const auto& t : topics) g->bus.unsubscribe(t);

    FUZZ_CHECK(answers == 1);
    FUZZ_CHECK(known_status(answer->status));
    if (answer->content_type == "application/json") {
        const auto body = json::parse(answer->body, nullptr, false);
        FUZZ_CHECK(body.is_object());
        if (answer->status >= 400 && answer->status != 503)
            FUZZ_CHECK(body["error"]["code"].is_string());
    }
    if (answer->status == 202) {
        const auto body = json::parse(answer->body);
        const std::size_t events = body.contains("ids") ? body["ids"].size() : 1;
        FUZZ_CHECK(g->delivered.size() == events);  // every accepted event arrives
    } else {
        FUZZ_CHECK(g->delivered.empty());
    }
    for (const auto& e : g->delivered) check_delivered(e);
    g->delivered.clear();
    return 0;
}
