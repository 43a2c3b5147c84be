// libFuzzer target: the bus envelope decoder, decode_envelope(), as fed by Redis.
//
// Whatever decodes must survive a round trip: decode_envelope(encode(e)) == e. Each decoded
// envelope is also turned into the frame a client would get (hub delivery), which must be
// valid JSON.

#include <wsgate/bus/envelope.hpp>
#include <wsgate/protocol/server_message.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"

using namespace wsgate;

namespace {

bool same(const envelope& a, const envelope& b) {
    return a.id == b.id && a.origin == b.origin && a.kind == b.kind && a.target == b.target &&
           a.event == b.event && a.data == b.data && a.frame == b.frame &&
           a.service == b.service && a.reply_id == b.reply_id &&
           a.timestamp_ms == b.timestamp_ms;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto decoded = decode_envelope(text);
    if (!decoded) return 0;
    // data travels byte for byte.
    FUZZ_CHECK(text.find(decoded->data) != std::string_view::npos);
    const envelope& e = *decoded;

    const std::string wire = encode(e);
    FUZZ_CHECK(fuzz_valid_json(wire));
    const auto again = decode_envelope(wire);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(same(e, *again));
    FUZZ_CHECK(encode(*again) == wire);

    (void)topic_of(e);
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
    return 0;
}
