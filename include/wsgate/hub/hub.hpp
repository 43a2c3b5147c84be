#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <wsgate/hub/subscriber.hpp>

namespace wsgate {

/// The local registry of connected clients: connection id → client, user → clients,
/// channel → clients, and each client → its channels. I/O-free; single-threaded.
///
/// The hub reports the bus topics it needs: `ch:<channel>` while at least one local client is
/// subscribed to the channel, `user:<id>` while at least one client of that user is connected.
class hub {
public:
    /// Called with (topic, true) when a topic gains its first local client and (topic, false)
    /// when it loses its last one.
    using topic_callback = std::function<void(const std::string& topic, bool active)>;

    enum class subscribe_result { added, already_subscribed, limit_reached };

    hub() = default;
    hub(const hub&) = delete;
    hub& operator=(const hub&) = delete;

    void set_topic_callback(topic_callback cb) { on_topic_ = std::move(cb); }

    /// Registers a client. `user` empty means anonymous. `connection_id` must be unique.
    void add(subscriber& s, std::string connection_id, std::string user);
    /// Changes the user a registered client belongs to (an anonymous client authenticated).
    void set_user(subscriber& s, std::string user);
    /// Unregisters a client and drops all of its subscriptions. Unknown clients are ignored.
    void remove(subscriber& s);

    subscribe_result subscribe(subscriber& s, const std::string& channel,
                               std::size_t max_subscriptions);
    /// False when the client was not subscribed to `channel`.
    bool unsubscribe(subscriber& s, const std::string& channel);

    /// Each returns the number of clients the frame was handed to. `at`: the event's place in
    /// the channel's history (offset 0: none), for subscribers that wait for their history.
    std::size_t send_to_channel(const std::string& channel, const frame_ptr& frame,
                                const history::position& at = {}) const;
    /// `at`: the event's place in the user's stream (offset 0: none), delivered under the
    /// stream name user_stream.
    std::size_t send_to_user(const std::string& user, const frame_ptr& frame,
                             const history::position& at = {}) const;
    std::size_t send_to_connection(const std::string& connection_id, const frame_ptr& frame) const;
    std::size_t send_to_all(const frame_ptr& frame) const;

    /// Calls f(subscriber&) for every client.
    void for_each(const std::function<void(subscriber&)>& f) const;

    std::size_t connections() const { return clients_.size(); }
    std::size_t channels() const { return channels_.size(); }
    std::size_t subscriptions() const { return subscriptions_; }
    std::size_t subscriptions_of(const subscriber& s) const;

    static std::string channel_topic(std::string_view channel);
    static std::string user_topic(std::string_view user);
    /// What channel_topic() and user_topic() put first: the one place a topic's kind is read.
    static constexpr std::string_view channel_topic_prefix = "ch:";
    static constexpr std::string_view user_topic_prefix = "user:";
    /// What a connection calls its user's stream where it names channels' streams (held
    /// events, subscriber::deliver_event): no channel can be called so ('~' is not allowed).
    static constexpr std::string_view user_stream = "~user";

private:
    struct client {
        std::string connection_id;
        std::string user;
        std::vector<std::string> channels;
    };
    using member_list = std::vector<subscriber*>;

    // Adds/removes `s` in `index[key]`, reporting the topic when the list appears/disappears.
    void join(std::unordered_map<std::string, member_list>& index, const std::string& key,
              subscriber& s, const std::string& topic);
    void leave(std::unordered_map<std::string, member_list>& index, const std::string& key,
               subscriber& s, const std::string& topic);
    static std::size_t send_to_list(const std::unordered_map<std::string, member_list>& index,
                                    const std::string& key, const frame_ptr& frame);

    std::unordered_map<const subscriber*, client> clients_;
    std::unordered_map<std::string, subscriber*> by_connection_;
    std::unordered_map<std::string, member_list> by_user_;
    std::unordered_map<std::string, member_list> channels_;
    std::size_t subscriptions_ = 0;
    topic_callback on_topic_;
};

}  // namespace wsgate
