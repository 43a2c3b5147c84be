#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <wsgate/protocol/frame.hpp>
#include <wsgate/session/utf8_validator.hpp>

namespace wsgate {

/// Reads what a WebSocket client sends (RFC 6455 5, and RFC 7692 for compressed messages),
/// from bytes handed over as they arrive: frame headers and payloads may be split anywhere.
/// I/O-free.
///
/// Client frames must be masked; the parser unmasks in place, so a message that arrived whole
/// in one read is passed on as a view into the caller's buffer, never copied. Only a message
/// (or a control frame) still incomplete at the end of a read is kept, in storage that is
/// released when it completes: between messages the parser holds no buffer.
///
/// Checked: reserved bits and opcodes, masking, minimal length encoding, control frames
/// (unfragmented, at most 125 bytes, valid close codes and UTF-8 reasons), continuation order
/// (control frames may come between fragments), the message size limit (1009, checked on
/// each frame header before its payload arrives, and on the inflated size), and UTF-8 in text
/// messages as the bytes arrive, across fragments (1007).
class ws_frame_parser {
public:
    /// Told about each complete message and control frame. Views are valid during the call.
    class handler {
    public:
        /// A whole text (valid UTF-8) or binary message, unmasked and inflated.
        virtual void on_message(ws_opcode opcode, std::string_view payload) = 0;
        virtual void on_ping(std::string_view payload) = 0;
        virtual void on_pong(std::string_view payload) = 0;
        /// The client's close frame; `code` 0 when it carried no status code. Nothing after it
        /// is read.
        virtual void on_close(std::uint16_t code, std::string_view reason) = 0;

    protected:
        ~handler() = default;
    };

    /// `max_message_size`: largest message accepted, in bytes (after inflating).
    explicit ws_frame_parser(std::size_t max_message_size) : max_message_(max_message_size) {}

    /// Accept compressed messages (RSV1 on a message's first frame): permessage-deflate was
    /// negotiated.
    void allow_compressed(bool allow) { compressed_ok_ = allow; }

    /// Parses `size` bytes at `data` (unmasked in place), telling `h` about everything complete.
    /// Returns false once the client broke the protocol: error_code() and error_reason() say
    /// how to close. After an error or a close frame, further bytes are ignored.
    bool parse(char* data, std::size_t size, handler& h);

    /// 1002 (protocol error), 1007 (invalid UTF-8 or compressed data) or 1009 (too big);
    /// 0 while there is no error.
    std::uint16_t error_code() const { return error_code_; }
    std::string_view error_reason() const { return error_reason_; }
    /// The client's close frame was read.
    bool closed() const { return closed_; }
    /// Nothing is partly received: no frame, message or control frame is in progress.
    bool idle() const {
        return header_size_ == 0 && !in_payload_ && message_opcode_ == ws_opcode::continuation;
    }

private:
    bool fail(std::uint16_t code, const char* reason);
    // Reads the frame header in `h` (complete); false on a protocol error.
    bool begin_frame(const unsigned char* h, std::size_t header_size);
    // `n` unmasked payload bytes of the current frame.
    bool take_payload(const char* p, std::size_t n);
    // The current frame's payload is complete: at `whole` when it arrived in one piece,
    // else gathered in message_ or control_.
    bool end_frame(const char* whole, bool in_one_piece, handler& h);
    bool end_message(std::string_view payload, handler& h);
    bool control_frame(std::string_view payload, handler& h);
    void unmask(char* p, std::size_t n);

    std::size_t max_message_;
    bool compressed_ok_ = false;

    // The header of the current frame, while it arrives in pieces.
    unsigned char header_[14] = {};
    std::uint8_t header_size_ = 0;

    // The current frame.
    bool in_payload_ = false;
    ws_opcode frame_opcode_ = ws_opcode::continuation;
    bool frame_fin_ = false;
    std::uint64_t frame_size_ = 0;  // payload bytes
    std::uint64_t remaining_ = 0;   // payload bytes still to come
    unsigned char mask_[4] = {};
    std::uint8_t mask_offset_ = 0;  // which mask byte the next payload byte takes

    // The current message: continuation means none.
    ws_opcode message_opcode_ = ws_opcode::continuation;
    bool message_compressed_ = false;
    std::size_t message_size_ = 0;  // payload bytes of the message so far (before inflating)
    std::string message_;           // its bytes when it does not arrive in one piece
    utf8_validator utf8_;

    std::string control_;  // a control frame's payload when it does not arrive in one piece

    bool closed_ = false;
    std::uint16_t error_code_ = 0;
    const char* error_reason_ = "";
};

}  // namespace wsgate
