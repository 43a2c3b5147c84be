#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsgate_bench {

enum ws_opcode : std::uint8_t {
    op_continuation = 0x0,
    op_text = 0x1,
    op_binary = 0x2,
    op_close = 0x8,
    op_ping = 0x9,
    op_pong = 0xA,
};

// Incremental parser of server-to-client frames (RFC 6455 §5.2: unmasked, 7/16/64-bit
// lengths). Frames may straddle reads; fragmented messages are reassembled. Complete bytes are
// parsed in place; only an incomplete tail is copied.
class frame_reader {
  public:
    // Calls on_message(opcode, payload) per complete message or control frame. Returns false on
    // a protocol error (a masked frame, a length over 2^62, a stray continuation).
    template <class OnMessage>
    bool feed(const char* data, std::size_t size, OnMessage&& on_message);

    void reset();

  private:
    // Parses one frame at the start of [data, data + size). Returns the bytes it used, 0 when
    // the frame is incomplete, or -1 on a protocol error.
    template <class OnMessage>
    long parse_frame(const char* data, std::size_t size, OnMessage& on_message);

    template <class OnMessage>
    bool parse_all(const char* data, std::size_t size, std::size_t& consumed,
                   OnMessage& on_message);

    std::string tail_;       // an incomplete frame from the previous read
    std::string fragments_;  // payload of a fragmented message so far
    std::uint8_t fragmented_opcode_ = 0;
};

// A client-to-server frame with FIN set and a random mask key (RFC 6455 §5.3).
std::string masked_frame(ws_opcode opcode, std::string_view payload);

// The HTTP upgrade request for `path` on `host_port`, with a fresh Sec-WebSocket-Key.
std::string upgrade_request(const std::string& host_port, const std::string& path);

}  // namespace wsgate_bench

#include "ws_frame_impl.hpp"
