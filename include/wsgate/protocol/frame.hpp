#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate {

class wire_frame;

/// A frame built once and shared by every session that sends it (never copied per recipient).
using frame_ptr = std::shared_ptr<const wire_frame>;

/// Bytes ready for the wire: a complete server-to-client WebSocket frame (header and payload;
/// server frames are unmasked, so the same bytes suit every client), or, rarely, an HTTP answer
/// written before the connection speaks WebSocket.
///
/// A text frame also remembers its permessage-deflate form for each compressor window size a
/// client negotiated (deflated()): an event shared by thousands of subscribers is compressed at
/// most once per window size, not once per connection. Single-threaded, like the hub.
class wire_frame {
public:
    /// `header_size`: bytes of `wire` before the payload (0 for bytes that are not a frame).
    explicit wire_frame(std::string wire, std::size_t header_size = 0)
        : wire_(std::move(wire)), header_size_(static_cast<std::uint8_t>(header_size)) {}

    const char* data() const noexcept { return wire_.data(); }
    std::size_t size() const noexcept { return wire_.size(); }
    const std::string& wire() const noexcept { return wire_; }
    std::string_view payload() const noexcept {
        return std::string_view(wire_).substr(header_size_);
    }

    /// For a text frame: the same message as a compressed frame (RSV1 set) for a client with
    /// whom permessage-deflate was negotiated with this server window size (9-15) and no
    /// context takeover. Null when compression does not pay (the payload is shorter than
    /// `min_payload`, or would not shrink): then the plain frame is the one to send.
    frame_ptr deflated(int window_bits, std::size_t min_payload) const;

private:
    std::string wire_;
    std::uint8_t header_size_;
    // (window bits, compressed frame or null): usually empty, or one entry.
    mutable std::vector<std::pair<int, frame_ptr>> deflated_;
};

/// WebSocket opcodes (RFC 6455 5.2).
enum class ws_opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xa,
};

/// Builds one unfragmented text frame (FIN set, opcode 1) carrying `payload`.
frame_ptr make_text_frame(std::string_view payload);

/// Builds one unmasked frame with FIN set; `rsv1` marks a compressed message.
frame_ptr make_frame(ws_opcode opcode, std::string_view payload, bool rsv1 = false);

/// A close frame: `code` (RFC 6455 7.4) and a reason of at most 123 bytes (longer is cut on
/// a UTF-8 character boundary). Code 0 sends an empty close frame (no status code).
frame_ptr make_close_frame(std::uint16_t code, std::string_view reason);

/// Size of the frame header make_text_frame() puts before a payload of `payload_size` bytes.
std::size_t text_frame_header_size(std::size_t payload_size);

}  // namespace wsgate
