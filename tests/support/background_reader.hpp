#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
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
                  for (std::size_t i = 0; i < count; ++i) {
                      frames_.push_back(client.read_json());
                      received_.store(i + 1);
                  }
              } catch (...) {
                  error_ = std::current_exception();
              }
          }) {}
    ~background_reader() {
        if (thread_.joinable()) thread_.join();
    }
    background_reader(const background_reader&) = delete;
    background_reader& operator=(const background_reader&) = delete;

    /// Frames read so far.
    std::size_t received() const { return received_.load(); }
    /// Waits (up to `timeout`) until at least `n` frames were read, or the reader stopped;
    /// true when they were. Lets a test keep a writer at most a window ahead of this reader,
    /// however late a busy machine schedules it.
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (received() < n && std::chrono::steady_clock::now() < deadline && !error_)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return received() >= n;
    }

    std::vector<nlohmann::json> join() {
        thread_.join();
        if (error_) std::rethrow_exception(error_);
        return std::move(frames_);
    }

  private:
    std::vector<nlohmann::json> frames_;
    std::atomic<std::size_t> received_{0};
    std::exception_ptr error_;
    std::thread thread_;
};

}  // namespace wsgate::test
