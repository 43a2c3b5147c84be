#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace wsgate {

/// A complete server-to-client WebSocket frame (header and payload), built once and shared by
/// every session that sends it. Server frames are unmasked, so the same bytes suit every client.
using frame_ptr = std::shared_ptr<const std::string>;

/// Builds one unfragmented text frame (FIN set, opcode 1) carrying `payload`.
frame_ptr make_text_frame(std::string_view payload);

/// Size of the frame header make_text_frame() puts before a payload of `payload_size` bytes.
std::size_t text_frame_header_size(std::size_t payload_size);

}  // namespace wsgate
