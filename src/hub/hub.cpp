#include <wsgate/hub/hub.hpp>

#include <algorithm>

namespace wsgate {

std::string hub::channel_topic(std::string_view channel) {
    return std::string(channel_topic_prefix) + std::string(channel);
}

std::string hub::user_topic(std::string_view user) {
    return std::string(user_topic_prefix) + std::string(user);
}

void hub::join(std::unordered_map<std::string, member_list>& index, const std::string& key,
               subscriber& s, const std::string& topic) {
    auto [it, created] = index.try_emplace(key);
    it->second.push_back(&s);
    if (created && on_topic_) on_topic_(topic, true);
}

void hub::leave(std::unordered_map<std::string, member_list>& index, const std::string& key,
                subscriber& s, const std::string& topic) {
    auto it = index.find(key);
    if (it == index.end()) return;
    auto& members = it->second;
    // Order among clients does not matter (each client's own order is kept by its queue).
    auto pos = std::find(members.begin(), members.end(), &s);
    if (pos == members.end()) return;
    *pos = members.back();
    members.pop_back();
    if (members.empty()) {
        index.erase(it);
        if (on_topic_) on_topic_(topic, false);
    }
}

void hub::add(subscriber& s, std::string connection_id, std::string user) {
    by_connection_[connection_id] = &s;
    if (!user.empty()) join(by_user_, user, s, user_topic(user));
    clients_.emplace(&s, client{std::move(connection_id), std::move(user), {}});
}

void hub::set_user(subscriber& s, std::string user) {
    auto it = clients_.find(&s);
    if (it == clients_.end() || it->second.user == user) return;
    client& c = it->second;
    if (!user.empty()) join(by_user_, user, s, user_topic(user));
    if (!c.user.empty()) leave(by_user_, c.user, s, user_topic(c.user));
    c.user = std::move(user);
}

void hub::remove(subscriber& s) {
    auto it = clients_.find(&s);
    if (it == clients_.end()) return;
    client& c = it->second;
    for (const auto& channel : c.channels) leave(channels_, channel, s, channel_topic(channel));
    subscriptions_ -= c.channels.size();
    if (!c.user.empty()) leave(by_user_, c.user, s, user_topic(c.user));
    by_connection_.erase(c.connection_id);
    clients_.erase(it);
}

hub::subscribe_result hub::subscribe(subscriber& s, const std::string& channel,
                                     std::size_t max_subscriptions) {
    auto it = clients_.find(&s);
    if (it == clients_.end()) return subscribe_result::limit_reached;
    auto& mine = it->second.channels;
    if (std::find(mine.begin(), mine.end(), channel) != mine.end())
        return subscribe_result::already_subscribed;
    if (mine.size() >= max_subscriptions) return subscribe_result::limit_reached;
    mine.push_back(channel);
    ++subscriptions_;
    join(channels_, channel, s, channel_topic(channel));
    return subscribe_result::added;
}

bool hub::unsubscribe(subscriber& s, const std::string& channel) {
    auto it = clients_.find(&s);
    if (it == clients_.end()) return false;
    auto& mine = it->second.channels;
    auto pos = std::find(mine.begin(), mine.end(), channel);
    if (pos == mine.end()) return false;
    mine.erase(pos);
    --subscriptions_;
    leave(channels_, channel, s, channel_topic(channel));
    return true;
}

std::size_t hub::send_to_list(const std::unordered_map<std::string, member_list>& index,
                              const std::string& key, const frame_ptr& frame) {
    auto it = index.find(key);
    if (it == index.end()) return 0;
    for (subscriber* s : it->second) s->deliver(frame);
    return it->second.size();
}

std::size_t hub::send_to_channel(const std::string& channel, const frame_ptr& frame,
                                 const history::position& at) const {
    // Subscribers that hold nothing deliver at once (subscriber::deliver_event()).
    auto it = channels_.find(channel);
    if (it == channels_.end()) return 0;
    for (subscriber* s : it->second) s->deliver_event(channel, at, frame);
    return it->second.size();
}

std::size_t hub::send_to_user(const std::string& user, const frame_ptr& frame,
                              const history::position& at) const {
    if (at.offset == 0) return send_to_list(by_user_, user, frame);
    auto it = by_user_.find(user);
    if (it == by_user_.end()) return 0;
    const std::string stream(user_stream);
    for (subscriber* s : it->second) s->deliver_event(stream, at, frame);
    return it->second.size();
}

std::size_t hub::send_to_connection(const std::string& connection_id,
                                    const frame_ptr& frame) const {
    auto it = by_connection_.find(connection_id);
    if (it == by_connection_.end()) return 0;
    it->second->deliver(frame);
    return 1;
}

std::size_t hub::send_to_all(const frame_ptr& frame) const {
    for (const auto& entry : by_connection_) entry.second->deliver(frame);
    return by_connection_.size();
}

void hub::for_each(const std::function<void(subscriber&)>& f) const {
    for (const auto& entry : by_connection_) f(*entry.second);
}

std::size_t hub::subscriptions_of(const subscriber& s) const {
    auto it = clients_.find(&s);
    return it == clients_.end() ? 0 : it->second.channels.size();
}

}  // namespace wsgate
