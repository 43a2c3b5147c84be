#include <wsgate/session/ws_handshake.hpp>

#include <boost/beast/http/field.hpp>

#include <nlohmann/json.hpp>

#include <openssl/evp.h>

#include <wsgate/protocol/http_request.hpp>

namespace wsgate {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view ws_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

// 16 bytes in base64: 22 characters of the alphabet and "==". The 22nd character carries the
// last 2 bits of the 16th byte and 4 padding bits, which must be zero (RFC 4648 3.5): else the
// text is not the encoding of 16 bytes.
bool valid_key(std::string_view key) {
    if (key.size() != 24 || key.substr(22) != "==") return false;
    for (char c : key.substr(0, 22))
        if (!is_base64_char(c)) return false;
    const char last = key[21];
    return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

ws_handshake_result refuse(int status, std::string_view code, std::string_view message) {
    ws_handshake_result r;
    r.error = code;
    const std::string body =
        nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
    // A 426 names the protocol to upgrade to (RFC 7231 6.5.15), with the "upgrade" connection
    // option that goes with an Upgrade header (RFC 7230 6.7), and the version that server
    // speaks (RFC 6455 4.4).
    r.response = status == 426 ? "HTTP/1.1 426 Upgrade Required\r\n"
                                 "Upgrade: websocket\r\n"
                                 "Sec-WebSocket-Version: 13\r\n"
                                 "Connection: Upgrade, close\r\n"
                               : "HTTP/1.1 400 Bad Request\r\n"
                                 "Connection: close\r\n";
    r.response += "Server: wsgate/" WSGATE_VERSION "\r\n"
                  "Content-Type: application/json\r\n"
                  "Content-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body;
    return r;
}

}  // namespace

std::string ws_accept_key(std::string_view key) {
    std::string text;
    text.reserve(key.size() + ws_guid.size());
    text.append(key).append(ws_guid);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha1(), nullptr);
    unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    const int n = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
    return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
}

bool wants_websocket(const http::request<http::string_body>& request) {
    // An HTTP/1.0 request's Upgrade is to be ignored (RFC 7230 6.7).
    return request.version() >= 11 && list_contains(request, http::field::upgrade, "websocket");
}

ws_handshake_result accept_ws_handshake(const http::request<http::string_body>& request,
                                        const ws_handshake_options& options) {
    if (request.method() != http::verb::get || request.version() < 11)
        return refuse(400, "bad_handshake", "a WebSocket upgrade is an HTTP/1.1 GET");
    // What a body would hold are the client's first frames: no framing may claim them.
    if (!request.body().empty() || request.count(http::field::transfer_encoding) != 0)
        return refuse(400, "bad_handshake", "a WebSocket upgrade request has no body");
    if (request.count(http::field::host) > 1)
        return refuse(400, "bad_handshake", "the Host header appears more than once");
    if (request[http::field::host].empty())
        return refuse(400, "bad_handshake", "the Host header is missing");
    // Upgrade and Connection are lists, each maybe spread over several lines.
    if (!list_contains(request, http::field::upgrade, "websocket"))
        return refuse(400, "bad_handshake", "Upgrade: websocket is missing");
    if (!list_contains(request, http::field::connection, "upgrade"))
        return refuse(400, "bad_handshake", "Connection: Upgrade is missing");
    // Neither of these may appear more than once (RFC 6455 11.3.1, 11.3.5).
    if (request.count(http::field::sec_websocket_key) > 1)
        return refuse(400, "bad_handshake", "Sec-WebSocket-Key appears more than once");
    const std::string_view key = request[http::field::sec_websocket_key];
    if (!valid_key(key))
        return refuse(400, "bad_handshake", "Sec-WebSocket-Key must be 16 bytes in base64");
    if (request.count(http::field::sec_websocket_version) > 1)
        return refuse(400, "bad_handshake", "Sec-WebSocket-Version appears more than once");
    if (request[http::field::sec_websocket_version] != "13")
        return refuse(426, "unsupported_version", "Sec-WebSocket-Version must be 13");

    ws_handshake_result r;
    r.accepted = true;
    if (options.permessage_deflate) {
        // Every Sec-WebSocket-Extensions field counts, as if joined with commas.
        std::string offers;
        auto [it, end] = request.equal_range(http::field::sec_websocket_extensions);
        for (; it != end; ++it) {
            if (!offers.empty()) offers += ',';
            offers.append(it->value().data(), it->value().size());
        }
        if (!offers.empty()) r.deflate = negotiate_permessage_deflate(offers);
    }
    r.response =
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        ws_accept_key(key) + "\r\n";
    if (r.deflate)
        r.response += "Sec-WebSocket-Extensions: " + permessage_deflate_response(*r.deflate) + "\r\n";
    r.response += "Server: wsgate/" WSGATE_VERSION "\r\n\r\n";
    return r;
}

}  // namespace wsgate
