#include <wsgate/presence/roster.hpp>

namespace wsgate::presence {

std::optional<change> roster::add(const std::string& channel, member m) {
    auto& ch = channels_[channel];
    const auto existing = ch.members.find(m.connection);
    if (existing != ch.members.end()) {
        // The same connection again (its user cannot change): new details, no join.
        existing->second.info = std::move(m.info);
        return std::nullopt;
    }
    const std::string connection = m.connection;
    const auto& added = ch.members.emplace(connection, std::move(m)).first->second;
    ++members_total_;
    if (added.user.empty()) return std::nullopt;
    if (++ch.users[added.user] > 1) return std::nullopt;  // another tab
    // Back within the grace of their leave: neither the leave nor a join.
    if (ch.leaving.erase(added.user) != 0) return std::nullopt;
    return change{change::kind::join, channel, added};
}

bool roster::remove(const std::string& channel, const std::string& connection, time_point now) {
    const auto ch = channels_.find(channel);
    if (ch == channels_.end()) return false;
    auto& state = ch->second;
    const auto m = state.members.find(connection);
    if (m == state.members.end()) return false;
    member gone = std::move(m->second);
    state.members.erase(m);
    --members_total_;
    if (!gone.user.empty()) {
        const auto count = state.users.find(gone.user);
        if (--count->second == 0) {
            state.users.erase(count);
            const time_point at = now + grace_;
            state.leaving[gone.user] = at;
            std::string user = gone.user;
            leaves_.emplace(at, pending{channel, std::move(user), std::move(gone)});
        }
    }
    if (state.members.empty() && state.leaving.empty()) channels_.erase(ch);
    return true;
}

std::vector<change> roster::due(time_point now) {
    std::vector<change> out;
    while (!leaves_.empty() && leaves_.begin()->first <= now) {
        auto node = leaves_.extract(leaves_.begin());
        pending& p = node.mapped();
        const auto ch = channels_.find(p.channel);
        if (ch == channels_.end()) continue;
        const auto leaving = ch->second.leaving.find(p.user);
        // The user came back (and maybe left again, due later): not this leave.
        if (leaving == ch->second.leaving.end() || leaving->second != node.key()) continue;
        ch->second.leaving.erase(leaving);
        out.push_back(change{change::kind::leave, p.channel, std::move(p.last)});
        if (ch->second.members.empty() && ch->second.leaving.empty()) channels_.erase(ch);
    }
    return out;
}

std::optional<roster::time_point> roster::next_due() const {
    if (leaves_.empty()) return std::nullopt;
    return leaves_.begin()->first;
}

std::vector<member> roster::members(const std::string& channel) const {
    std::vector<member> out;
    const auto ch = channels_.find(channel);
    if (ch == channels_.end()) return out;
    out.reserve(ch->second.members.size());
    for (const auto& [id, m] : ch->second.members) out.push_back(m);
    return out;
}

stats roster::stats_of(const std::string& channel) const {
    const auto ch = channels_.find(channel);
    if (ch == channels_.end()) return {};
    return {ch->second.members.size(), ch->second.users.size()};
}

}  // namespace wsgate::presence
