#pragma once

#include <cstdint>
#include <sys/epoll.h>
#include <vector>

namespace wsgate_bench {

class io_handler {
  public:
    virtual void on_io(std::uint32_t events) = 0;

  protected:
    ~io_handler() = default;
};

// A single-threaded epoll loop. Descriptors are closed only after the current batch of events
// has been dispatched, so a descriptor number is never reused within one batch.
class event_loop {
  public:
    event_loop();
    ~event_loop();
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    void add(int fd, std::uint32_t events, io_handler& handler);
    void modify(int fd, std::uint32_t events);
    // Stops watching `fd` and closes it once the current batch is dispatched.
    void close_later(int fd);
    // Waits at most `timeout_ms` and dispatches what is ready.
    void run_once(int timeout_ms);

  private:
    void close_deferred();

    int epoll_fd_;
    std::vector<io_handler*> handlers_;  // by descriptor
    std::vector<int> to_close_;
    std::vector<epoll_event> ready_;
};

// Runs `loop` until `done()` or until the monotonic clock passes `deadline_ns`; returns done().
// `next_wake_ns()` (0: none) bounds each wait, for paced work done inside `done()`.
template <class Done, class NextWake>
bool run_until(event_loop& loop, std::int64_t deadline_ns, Done&& done, NextWake&& next_wake_ns);

}  // namespace wsgate_bench

#include "event_loop_impl.hpp"
