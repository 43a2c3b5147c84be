#include "event_loop.hpp"

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace wsgate_bench {

event_loop::event_loop() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)), ready_(1024) {
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

event_loop::~event_loop() {
    close_deferred();
    close(epoll_fd_);
}

void event_loop::add(int fd, std::uint32_t events, io_handler& handler) {
    if (static_cast<std::size_t>(fd) >= handlers_.size()) handlers_.resize(fd * 2 + 64, nullptr);
    handlers_[fd] = &handler;
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0)
        throw std::system_error(errno, std::generic_category(), "epoll_ctl add");
}

void event_loop::modify(int fd, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
}

void event_loop::close_later(int fd) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    handlers_[fd] = nullptr;
    to_close_.push_back(fd);
}

void event_loop::run_once(int timeout_ms) {
    const int count = epoll_wait(epoll_fd_, ready_.data(), int(ready_.size()), timeout_ms);
    for (int i = 0; i < count; ++i) {
        io_handler* handler = handlers_[ready_[i].data.fd];
        if (handler != nullptr) handler->on_io(ready_[i].events);
    }
    close_deferred();
}

void event_loop::close_deferred() {
    for (int fd : to_close_) close(fd);
    to_close_.clear();
}

}  // namespace wsgate_bench
