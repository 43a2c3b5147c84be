#pragma once

#include <functional>
#include <string>

#include <wsgate/bus/envelope.hpp>

namespace wsgate {

/// Carries envelopes between the ingest side and the hubs of every instance. An instance gets
/// its own publications back through the bus, like everybody else's; there is no shortcut.
class bus {
public:
    using message_handler = std::function<void(const envelope&)>;
    /// Told whether the bus accepted a publication (true) or lost it (false).
    using publish_callback = std::function<void(bool accepted)>;

    virtual ~bus() = default;

    /// Hands `e` to the bus for delivery to every instance subscribed to its topic, then calls
    /// `done` exactly once: true when the bus has taken it (Redis answered the PUBLISH), false
    /// when it could not (the caller must report that, never drop silently). `done` may run
    /// before publish() returns.
    virtual void publish(const envelope& e, publish_callback done) = 0;
    virtual void subscribe(const std::string& topic) = 0;
    virtual void unsubscribe(const std::string& topic) = 0;
    /// Calls `in_force` once envelopes on `topic` are delivered here (at once when they
    /// already are): what is published after that reaches this instance. Also called when
    /// the topic is unsubscribed before that, so that no caller waits forever.
    virtual void when_subscribed(const std::string& topic, std::function<void()> in_force) = 0;
    /// True while the bus delivers: publications are accepted and subscriptions are in force.
    virtual bool ready() const = 0;

    /// Where envelopes arriving on subscribed topics go.
    void on_message(message_handler h) { handler_ = std::move(h); }

protected:
    message_handler handler_;
};

}  // namespace wsgate
