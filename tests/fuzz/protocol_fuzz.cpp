// libFuzzer target: the client protocol parser, protocol::parse_client_message().
//
// Besides crashes and sanitizer reports it checks what the session does with the result
// (ws_session::handle_request): every frame the gateway would answer with (error, pong, ack,
// reply) must be valid JSON, and what the parser accepts must satisfy the documented rules.

#include <wsgate/protocol/client_message.hpp>
#include <wsgate/protocol/server_message.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "fuzz_check.hpp"

using namespace wsgate::protocol;
using nlohmann::json;

namespace {

bool valid_json(const std::string& text) { return json::accept(text); }

// An id is echoed verbatim: a JSON number or a string of at most 64 characters.
bool valid_id(const std::optional<std::string>& id) {
    if (!id) return true;
    auto j = json::parse(*id, nullptr, false);
    return j.is_number() || (j.is_string() && j.get_ref<const std::string&>().size() <= 64);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const name_rules rules;  // the defaults: 128 characters of [A-Za-z0-9-_.:@/=]
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    const auto parsed = parse_client_message(text, rules);
    if (const auto* err = std::get_if<request_error>(&parsed)) {
        FUZZ_CHECK(valid_id(err->id));
        // ws_session::reject()
        FUZZ_CHECK(valid_json(error_message(err->id, to_string(err->code), err->message)));
        return 0;
    }
    const auto& req = std::get<client_request>(parsed);
    FUZZ_CHECK(json::accept(text));
    FUZZ_CHECK(valid_id(req.id));
    switch (req.type) {
        case request_type::ping:
            FUZZ_CHECK(valid_json(pong_message(req.id)));
            break;
        case request_type::subscribe:
        case request_type::unsubscribe:
            FUZZ_CHECK(rules.valid(req.channel));
            FUZZ_CHECK(valid_json(ack_message(req.id)));
            FUZZ_CHECK(valid_json(
                error_message(req.id, "not_subscribed", "not subscribed to " + req.channel)));
            break;
        case request_type::send:
            FUZZ_CHECK(valid_json(req.data));
            // ws_session::forward(): an unknown service is named in the error; a service's
            // answer goes back as a reply.
            FUZZ_CHECK(valid_json(error_message(req.id, "unknown_service",
                                                "no service named '" + req.service + "'")));
            if (valid_service_name(req.service))
                FUZZ_CHECK(valid_json(
                    reply_message(req.id.value_or("null"), req.service, req.data)));
            break;
    }
    return 0;
}
