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

    virtual ~bus() = default;

    /// Hands `e` to the bus for delivery to every instance subscribed to its topic. False when
    /// the bus cannot take it now (the caller must report the failure, never drop silently).
    [[nodiscard]] virtual bool publish(const envelope& e) = 0;
    virtual void subscribe(const std::string& topic) = 0;
    virtual void unsubscribe(const std::string& topic) = 0;
    /// True while publish() can succeed and subscriptions are in force.
    virtual bool ready() const = 0;

    /// Where envelopes arriving on subscribed topics go.
    void on_message(message_handler h) { handler_ = std::move(h); }

protected:
    message_handler handler_;
};

}  // namespace wsgate
