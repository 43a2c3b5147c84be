#include <wsgate/history/idempotency_cache.hpp>

namespace wsgate::history {

void idempotency_cache::expire(clock::time_point now) {
    while (!order_.empty()) {
        auto it = entries_.find(order_.front());
        if (it != entries_.end() && it->second.expires > now && entries_.size() <= capacity_)
            break;
        if (it != entries_.end()) entries_.erase(it);
        order_.pop_front();
    }
}

const first_answer* idempotency_cache::find(const std::string& key, clock::time_point now) {
    expire(now);
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second.answer;
}

void idempotency_cache::remember(const std::string& key, first_answer answer,
                                 clock::time_point now) {
    auto [it, added] = entries_.insert_or_assign(key, entry{std::move(answer), now + window_});
    if (added) order_.push_back(key);
    expire(now);
}

}  // namespace wsgate::history
