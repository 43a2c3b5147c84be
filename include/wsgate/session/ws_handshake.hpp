#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <wsgate/protocol/permessage_deflate.hpp>

namespace wsgate {

/// What the server offers in the opening handshake.
struct ws_handshake_options {
    /// Accept a client's permessage-deflate offer (RFC 7692, no context takeover either way).
    bool permessage_deflate = true;
};

/// The server's answer to a client's opening handshake (RFC 6455 4.2).
struct ws_handshake_result {
    bool accepted = false;
    /// The HTTP answer to write: 101 Switching Protocols, or the refusal (400, or 426 for a
    /// WebSocket version other than 13), with Connection: close.
    std::string response;
    /// Set when permessage-deflate was negotiated.
    std::optional<deflate_params> deflate;
    /// Why the handshake was refused: the error code of the refusal's JSON body.
    std::string error;
};

/// Checks an upgrade request (already read, and already routed to the WebSocket path) as RFC
/// 6455 4.2.1 asks: HTTP/1.1 GET, Host, Upgrade: websocket, Connection: Upgrade, a
/// Sec-WebSocket-Key of 16 base64-encoded bytes, Sec-WebSocket-Version 13; negotiates
/// extensions; builds the answer. I/O-free.
ws_handshake_result accept_ws_handshake(
    const boost::beast::http::request<boost::beast::http::string_body>& request,
    const ws_handshake_options& options);

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455's GUID)).
std::string ws_accept_key(std::string_view key);

}  // namespace wsgate
