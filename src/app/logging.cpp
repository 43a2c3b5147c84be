#include <wsgate/app/logging.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace wsgate {

namespace {

// %j: the message as a JSON string literal, so that JSON log lines stay valid whatever the text.
class json_message_flag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const std::string quoted =
            nlohmann::json(std::string_view(msg.payload.data(), msg.payload.size()))
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        dest.append(quoted.data(), quoted.data() + quoted.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<json_message_flag>();
    }
};

}  // namespace

void setup_logging(const config::log_section& log) {
    auto logger = std::make_shared<spdlog::logger>(
        "wsgate", std::make_shared<spdlog::sinks::stderr_sink_st>());
    if (log.format == "json") {
        auto formatter = std::make_unique<spdlog::pattern_formatter>(
            spdlog::pattern_time_type::utc, std::string("\n"));
        formatter->add_flag<json_message_flag>('j').set_pattern(
            R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%j})");
        logger->set_formatter(std::move(formatter));
    } else {
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    logger->set_level(spdlog::level::from_str(log.level));
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace wsgate
