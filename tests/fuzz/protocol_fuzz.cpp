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

bool valid_json(const std::string& text) { return fuzz_valid_json(text); }

std::size_t characters(const std::string& utf8) {
    std::size_t n = 0;
    for (char c : utf8) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    return n;
}

// An id is echoed verbatim: a JSON number or a string of at most 64 characters.
bool valid_id(const std::optional<std::string>& id) {
    if (!id) return true;
    if (!valid_json(*id)) return false;
    auto j = json::parse(*id, nullptr, false);
    // A number beyond a double (1e400): valid JSON that nlohmann will not read.
    if (j.is_discarded()) return (*id)[0] == '-' || ((*id)[0] >= '0' && (*id)[0] <= '9');
    return j.is_number() || (j.is_string() && characters(j.get_ref<const std::string&>()) <= 64);
}

// True when `part` is a piece of `whole` (a view into it or equal bytes found in it): what is
// passed through must be what was sent.
bool appears_in(std::string_view whole, const std::string& part) {
    return whole.find(part) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const name_rules rules;  // the defaults: 128 characters of [A-Za-z0-9-_.:@/=]
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    const auto parsed = parse_client_message(text, rules);
    if (const auto* err = std::get_if<request_error>(&parsed)) {
        FUZZ_CHECK(valid_id(err->id));
        // Differential: what nlohmann takes for JSON is JSON here too, unless too deep or a
        // member is repeated (nlohmann keeps the last one silently).
        // (nlohmann also stops at a NUL byte and takes what came before; the gateway refuses
        // the trailing bytes.)
        if (err->code == client_error::invalid_json && text.find('\0') == text.npos &&
            json::accept(text))
            FUZZ_CHECK(err->too_deep || err->message.find("appears twice") != std::string::npos);
        FUZZ_CHECK(!err->too_deep || err->code == client_error::invalid_json);
        // ws_session::reject()
        FUZZ_CHECK(valid_json(error_message(err->id, to_string(err->code), err->message)));
        return 0;
    }
    const auto& req = std::get<client_request>(parsed);
    FUZZ_CHECK(valid_json(std::string(text)));
    FUZZ_CHECK(valid_id(req.id));
    if (req.id) FUZZ_CHECK(appears_in(text, *req.id));
    FUZZ_CHECK(req.data == "null" || appears_in(text, req.data));
    // Never deeper than the limit: the message's object plus 64 levels in its values.
    FUZZ_CHECK(!wsgate::json_input::check(text, default_json_max_depth + 1));
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
            // A recover position is echoed in nothing, but the ack names one.
            if (req.since)
                FUZZ_CHECK(valid_json(subscribe_ack_message(
                    req.id, {req.since->epoch, req.since->offset}, true)));
            break;
        case request_type::history:
            FUZZ_CHECK(rules.valid(req.channel));
            FUZZ_CHECK(!req.limit || (*req.limit >= 1 && *req.limit <= 100000));
            FUZZ_CHECK(valid_json(history_message(req.id, req.channel, {})));
            break;
        case request_type::publish:
        case request_type::auth:
        case request_type::refresh:
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
