#include <wsgate/session/session_sweeper.hpp>

#include <algorithm>

namespace wsgate {

session_sweeper::session_sweeper(std::chrono::milliseconds period)
    : period_(std::max(period, std::chrono::milliseconds(1))) {}

session_sweeper::~session_sweeper() {
    for (member* m : members_) m->slot_ = member::none;
}

std::chrono::milliseconds session_sweeper::period_for(std::chrono::milliseconds shortest) {
    return std::max(shortest / 4, std::chrono::milliseconds(10));
}

session_sweeper::tick session_sweeper::ticks(std::chrono::milliseconds d) const {
    // Something that happened just before a tick is one tick old right after it, though
    // hardly any time passed: one more tick than d / period guarantees d.
    const auto whole = (d.count() + period_.count() - 1) / period_.count();
    return static_cast<tick>(whole + 1);
}

void session_sweeper::add(member& m, const boost::asio::any_io_executor& ex) {
    if (contains(m)) return;
    m.slot_ = static_cast<std::uint32_t>(members_.size());
    members_.push_back(&m);
    if (!timer_) timer_ = std::make_unique<boost::asio::steady_timer>(ex);
    if (!armed_) arm();
}

void session_sweeper::remove(member& m) {
    if (!contains(m)) return;
    // Swap with the last member: sweep() walks backwards, so that one was visited already.
    member* last = members_.back();
    members_[m.slot_] = last;
    last->slot_ = m.slot_;
    members_.pop_back();
    m.slot_ = member::none;
}

void session_sweeper::sweep() {
    ++now_;
    for (std::size_t i = members_.size(); i-- > 0;) {
        if (i < members_.size()) members_[i]->on_sweep(now_);
    }
}

void session_sweeper::arm() {
    armed_ = true;
    timer_->expires_after(period_);
    // No cancel on the last member's removal: the timer runs out and is not re-armed.
    timer_->async_wait([this](boost::system::error_code ec) {
        if (ec) return;  // the sweeper is going away: touch nothing
        armed_ = false;
        if (members_.empty()) return;
        sweep();
        if (!members_.empty() && !armed_) arm();
    });
}

}  // namespace wsgate
