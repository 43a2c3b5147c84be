#include "http_pipeline.hpp"

#include "test_io.hpp"

namespace wsgate::test {

http_pipeline::http_pipeline(std::uint16_t port) : socket_(port), port_(port) {}

http_pipeline& http_pipeline::add(const std::string& method, const std::string& target,
                                  const std::string& body, const header_list& headers) {
    std::string request =
        method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) + "\r\n";
    for (const auto& [name, value] : headers) {
        request += name + ": " + value + "\r\n";
    }
    if (!body.empty()) {
        request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    add_raw(request + "\r\n" + body);
    heads_.back() = method == "HEAD";
    return *this;
}

http_pipeline& http_pipeline::publish(const nlohmann::json& event, const header_list& headers) {
    header_list all{{"Content-Type", "application/json"}};
    all.insert(all.end(), headers.begin(), headers.end());
    return add("POST", "/api/v1/publish", event.dump(), all);
}

http_pipeline& http_pipeline::add_raw(std::string bytes) {
    unsent_ += bytes;
    heads_.push_back(false);
    return *this;
}

void http_pipeline::send() {
    if (!socket_.send_all(unsent_)) {
        throw io_failure("pipeline: writing " + std::to_string(unsent_.size()) + " bytes failed (" +
                         socket_.end_description() + ")");
    }
    unsent_.clear();
}

std::vector<http_response> http_pipeline::receive(std::size_t count,
                                                  std::chrono::milliseconds timeout) {
    std::vector<http_response> answers;
    auto take = [&] {
        while (answers.size() < count && !heads_.empty()) {
            auto answer = take_http_response(socket_.received(), heads_.front());
            if (!answer) {
                break;
            }
            heads_.pop_front();
            answers.push_back(std::move(*answer));
        }
        return answers.size() == count;
    };
    socket_.receive_until(take, timeout);
    return answers;
}

bool http_pipeline::ends(std::chrono::milliseconds timeout) {
    return socket_.wait_input_end(timeout);
}

}  // namespace wsgate::test
