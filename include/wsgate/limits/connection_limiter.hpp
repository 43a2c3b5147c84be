#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

namespace wsgate {

/// Counts open client connections in total and per client address, against two limits
/// (0: no limit). I/O-free; a `connection_slot` gives a count back when it goes away.
class connection_limiter {
public:
    enum class verdict { ok, total_reached, address_reached };

    connection_limiter(std::size_t max_total, std::size_t max_per_address)
        : max_total_(max_total), max_per_address_(max_per_address) {}

    /// Counts a connection from `address` when both limits allow it.
    verdict try_open(const std::string& address);
    void close(const std::string& address);

    std::size_t total() const noexcept { return total_; }
    std::size_t from(const std::string& address) const;

private:
    std::size_t max_total_;
    std::size_t max_per_address_;
    std::size_t total_ = 0;
    std::unordered_map<std::string, std::size_t> per_address_;
};

/// One counted connection; closes its count when destroyed. Movable, not copyable.
class connection_slot {
public:
    connection_slot() = default;
    connection_slot(connection_limiter& limiter, std::string address)
        : limiter_(&limiter), address_(std::move(address)) {}
    connection_slot(connection_slot&& other) noexcept
        : limiter_(other.limiter_), address_(std::move(other.address_)) {
        other.limiter_ = nullptr;
    }
    connection_slot& operator=(connection_slot&& other) noexcept {
        if (this != &other) {
            release();
            limiter_ = other.limiter_;
            address_ = std::move(other.address_);
            other.limiter_ = nullptr;
        }
        return *this;
    }
    connection_slot(const connection_slot&) = delete;
    connection_slot& operator=(const connection_slot&) = delete;
    ~connection_slot() { release(); }

    const std::string& address() const noexcept { return address_; }

private:
    void release() {
        if (limiter_) limiter_->close(address_);
        limiter_ = nullptr;
    }

    connection_limiter* limiter_ = nullptr;
    std::string address_;
};

}  // namespace wsgate
