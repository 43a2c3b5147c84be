#include <wsgate/limits/connection_limiter.hpp>

namespace wsgate {

connection_limiter::verdict connection_limiter::try_open(const std::string& address) {
    if (max_total_ != 0 && total_ >= max_total_) return verdict::total_reached;
    auto& count = per_address_[address];
    if (max_per_address_ != 0 && count >= max_per_address_) {
        if (count == 0) per_address_.erase(address);
        return verdict::address_reached;
    }
    ++count;
    ++total_;
    return verdict::ok;
}

void connection_limiter::close(const std::string& address) {
    auto found = per_address_.find(address);
    if (found == per_address_.end()) return;
    --total_;
    if (--found->second == 0) per_address_.erase(found);
}

std::size_t connection_limiter::from(const std::string& address) const {
    auto found = per_address_.find(address);
    return found == per_address_.end() ? 0 : found->second;
}

}  // namespace wsgate
