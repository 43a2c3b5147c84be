#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate {

/// The permessage-deflate extension (RFC 7692) as wsgate speaks it: both directions without
/// context takeover, so every message is compressed and inflated on its own and a connection
/// holds no compression state between messages. I/O-free.
struct deflate_params {
    /// Window of the server's compressor: 15, or less when the client asked for less
    /// (server_max_window_bits). Messages shared by many clients are compressed once per value.
    int server_window_bits = 15;
};

/// Picks the first offer of permessage-deflate in the value(s) of Sec-WebSocket-Extensions
/// that wsgate can accept; nullopt when there is none (then the connection is uncompressed).
/// Accepted parameters: server_no_context_takeover, client_no_context_takeover,
/// server_max_window_bits=9..15 and client_max_window_bits[=8..15] (values as RFC 7692 writes
/// them: decimal without a leading zero, maybe quoted); an offer with anything else, an invalid
/// value ("09", "16"), a parameter twice, or server_max_window_bits=8 (zlib cannot keep to it)
/// is declined: the next offer is tried, and without one the connection is uncompressed.
std::optional<deflate_params> negotiate_permessage_deflate(std::string_view extensions);

/// The Sec-WebSocket-Extensions value answering an accepted offer.
std::string permessage_deflate_response(const deflate_params& params);

/// Compresses one message into `out` (replacing its contents): the payload of a frame with
/// RSV1 set (the final 00 00 ff ff of the flush removed, RFC 7692 7.2.1).
void deflate_message(std::string_view payload, int window_bits, std::string& out);

enum class inflate_result { ok, too_big, corrupt };

/// Inflates the payload of one compressed message (all its frames, joined) into `out`
/// (replacing its contents); too_big as soon as it would exceed `max_size` bytes.
inflate_result inflate_message(std::string_view compressed, std::size_t max_size,
                               std::string& out);

}  // namespace wsgate
