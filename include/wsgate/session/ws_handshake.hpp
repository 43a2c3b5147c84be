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
    /// The HTTP answer to write: 101 Switching Protocols, or the refusal with Connection: close
    /// (400, or 426 with Upgrade: websocket and Sec-WebSocket-Version: 13 for a WebSocket
    /// version other than 13).
    std::string response;
    /// Set when permessage-deflate was negotiated.
    std::optional<deflate_params> deflate;
    /// Why the handshake was refused: the error code of the refusal's JSON body.
    std::string error;
};

/// True when a request asks for a WebSocket: HTTP/1.1 (an HTTP/1.0 Upgrade is ignored, RFC 7230
/// 6.7) with `websocket` among its Upgrade protocols, on any of its Upgrade lines. Such a
/// request on the WebSocket path is the handshake's to answer, even when the rest is wrong.
bool wants_websocket(const boost::beast::http::request<boost::beast::http::string_body>& request);

/// Checks an upgrade request (already read, and already routed to the WebSocket path) as RFC
/// 6455 4.2.1 asks: an HTTP/1.1 GET without a body, exactly one Host, `websocket` among the
/// Upgrade protocols and `upgrade` among the Connection options (every line of each counts),
/// exactly one Sec-WebSocket-Key of 16 base64-encoded bytes, exactly one Sec-WebSocket-Version,
/// 13; negotiates extensions; builds the answer. I/O-free.
ws_handshake_result accept_ws_handshake(
    const boost::beast::http::request<boost::beast::http::string_body>& request,
    const ws_handshake_options& options);

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455's GUID)).
std::string ws_accept_key(std::string_view key);

}  // namespace wsgate
