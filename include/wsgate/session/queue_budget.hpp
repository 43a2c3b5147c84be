#pragma once

#include <cstddef>

namespace wsgate::queue_budget {

/// Bytes a client frame (WebSocket header included) may take beyond the publish request, or
/// batch item, that made it: `{"type":"event",`, the event id, `"data":null` for an omitted
/// data, and the frame header. A unit test holds the frame builders to it.
inline constexpr std::size_t event_frame_overhead = 128;

/// Ciphertext a wss connection's writer makes ahead of its socket at most (ws_transport), plus
/// the TLS records' own overhead: it counts in the client's queued bytes too.
inline constexpr std::size_t tls_write_ahead = 64 * 1024;
inline constexpr std::size_t tls_ciphertext_slack = tls_write_ahead + 1024;

/// The smallest limits.max_queue_bytes with which everything one accepted publish request can
/// make (a body of `max_body_bytes`, split into up to `max_batch_events` events) is queued for
/// an idle client without closing it as a slow consumer. The rule: a client is closed when
/// the bytes already queued before a frame pass the limit, so the last frame always fits.
constexpr std::size_t required_queue_bytes(std::size_t max_body_bytes,
                                           std::size_t max_batch_events, bool tls) {
    return max_body_bytes + max_batch_events * event_frame_overhead +
           (tls ? tls_ciphertext_slack : 0);
}

}  // namespace wsgate::queue_budget
