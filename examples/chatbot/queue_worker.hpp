#pragma once

#include "options.hpp"

namespace chatbot {

/// Worker mode for the gateway's `queue` transport (docs/services.md): reads the service's Redis
/// stream as a member of a consumer group and answers each message through the gateway's REST
/// API (`POST /api/v1/publish`), acknowledging it (`XACK`) only once the gateway accepted the
/// answer (202). Messages whose answer failed stay pending and are retried on the next round.
///
/// Creates the group when missing (from id 0, so that messages queued before any worker ran are
/// answered too), prints `chatbot worker ready`, first re-reads this consumer's own pending
/// entries, then blocks on new ones (at most 1 s per read, so that SIGINT/SIGTERM stop it within
/// about a second). Synchronous: hiredis's blocking API and one HTTP call at a time.
/// Returns the process's exit status.
int run_queue_worker(const options& opts);

}  // namespace chatbot
