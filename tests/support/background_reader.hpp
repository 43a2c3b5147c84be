#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

namespace wsgate::test {

/// Reads `count` frames with `client.read_json()` on its own thread (a ws_client or a
/// wss_client); join() returns them and rethrows a read failure. The destructor joins too, so a
/// failing test never leaves the thread behind.
template <class Client>
class background_reader {
  public:
    background_reader(Client& client, std::size_t count)
        : thread_([this, &client, count] {
              try {
                  for (std::size_t i = 0; i < count; ++i) frames_.push_back(client.read_json());
              } catch (...) {
                  error_ = std::current_exception();
              }
          }) {}
    ~background_reader() {
        if (thread_.joinable()) thread_.join();
    }
    background_reader(const background_reader&) = delete;
    background_reader& operator=(const background_reader&) = delete;

    std::vector<nlohmann::json> join() {
        thread_.join();
        if (error_) std::rethrow_exception(error_);
        return std::move(frames_);
    }

  private:
    std::vector<nlohmann::json> frames_;
    std::exception_ptr error_;
    std::thread thread_;
};

}  // namespace wsgate::test
