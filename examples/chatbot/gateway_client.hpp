#pragma once

#include <boost/asio/io_context.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "options.hpp"

namespace chatbot {

/// Sends answers to the gateway's REST API (`POST /api/v1/publish`, Bearer API key), one
/// short-lived HTTP/1.1 connection per call. Calls run concurrently on the io_context; each
/// logs its outcome on stderr.
class gateway_client {
  public:
    gateway_client(boost::asio::io_context& ioc, std::optional<host_port> gateway,
                   std::string api_key);

    /// Starts `POST /api/v1/publish` with `body`; returns at once.
    void publish(const nlohmann::json& body);

  private:
    boost::asio::io_context& ioc_;
    std::optional<host_port> gateway_;
    std::string api_key_;
};

}  // namespace chatbot
