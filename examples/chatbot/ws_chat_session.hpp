#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <string>

namespace chatbot {

/// Completes the WebSocket upgrade `request` (already checked: path and signature) on `stream`
/// and answers every text frame (a webhook body) with frames, by ws_answer_for(). While the
/// WebSocket is open it counts in `open_count`.
void start_ws_chat(boost::beast::tcp_stream stream,
                   boost::beast::http::request<boost::beast::http::string_body> request,
                   std::size_t& open_count);

}  // namespace chatbot
