#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <wsgate/bus/envelope.hpp>
#include <wsgate/history/stream.hpp>

namespace wsgate {

/// Carries envelopes between the ingest side and the hubs of every instance. An instance gets
/// its own publications back through the bus, like everybody else's; there is no shortcut.
class bus {
public:
    using message_handler = std::function<void(const envelope&)>;

    /// How one event is published.
    struct publish_options {
        history::policy history;      ///< its stream's; off: no offset, nothing kept
        std::string idempotency_key;  ///< empty: none (docs/history.md)
    };
    /// What became of one publication.
    struct publish_result {
        bool accepted = false;   ///< false: lost (the caller must report it, never drop it)
        bool duplicate = false;  ///< a retry of an idempotency key: nothing was published
        std::string id;          ///< the event's id (for a duplicate, the first publish's)
        history::position at;    ///< its offset and epoch, with history on
    };
    using publish_callback = std::function<void(const publish_result&)>;
    /// nullopt: the history could not be read (the engine is unreachable).
    using read_callback = std::function<void(std::optional<history::read_result>)>;

    virtual ~bus() = default;

    /// Hands `e` to the bus for delivery to every instance subscribed to its topic, then calls
    /// `done` exactly once: accepted when the bus has taken it (Redis answered), not when it
    /// could not. With history on, the bus appends it to its stream and gives it the stream's
    /// next offset in the same step as it publishes it, so that every instance sees the
    /// stream's events in offset order. `done` may run before publish() returns.
    virtual void publish(const envelope& e, const publish_options& how, publish_callback done) = 0;
    /// The events of `topic`'s stream after offset `after` of `epoch` (history::read_result),
    /// at most `limit` of them; `done` runs later, never inside the call.
    virtual void read_history(const std::string& topic, const std::string& epoch,
                              std::uint64_t after, std::size_t limit, read_callback done) = 0;
    /// Forgets `topic`'s history; `done(false)` when the engine could not be reached.
    virtual void remove_history(const std::string& topic, std::function<void(bool)> done) = 0;
    virtual void subscribe(const std::string& topic) = 0;
    virtual void unsubscribe(const std::string& topic) = 0;
    /// Calls `in_force` once envelopes on `topic` are delivered here (at once when they
    /// already are): what is published after that reaches this instance. Also called when
    /// the topic is unsubscribed before that, so that no caller waits forever.
    virtual void when_subscribed(const std::string& topic, std::function<void()> in_force) = 0;
    /// What an in-memory history holds now, for /metrics; none for engines elsewhere.
    virtual std::optional<history::memory_usage> history_memory() const { return {}; }
    /// True while the bus delivers: publications are accepted and subscriptions are in force.
    virtual bool ready() const = 0;

    /// Where envelopes arriving on subscribed topics go.
    void on_message(message_handler h) { handler_ = std::move(h); }
    using topic_handler = std::function<void(const std::string& topic)>;
    /// Called for each topic whose subscription is in force again after the live path broke
    /// (the Redis subscriber connection came back): what was published meanwhile did not
    /// arrive. The embedded engine's live path never breaks.
    void on_resubscribed(topic_handler h) { resubscribed_ = std::move(h); }

protected:
    message_handler handler_;
    topic_handler resubscribed_;
};

}  // namespace wsgate
