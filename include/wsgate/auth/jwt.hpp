#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace wsgate::auth {

/// How client JWTs are checked. Exactly one algorithm is accepted per verifier.
struct jwt_settings {
    std::string algorithm;            ///< "HS256", "RS256" or "ES256" (case-sensitive)
    std::string secret;               ///< HS256 only: the shared secret, at least 32 bytes
    std::string public_key_pem;       ///< RS256 / ES256 only: "-----BEGIN PUBLIC KEY-----" (SPKI)
    std::string issuer;               ///< when non-empty, `iss` must equal it
    std::string audience;             ///< when non-empty, `aud` (string or array) must contain it
    std::chrono::seconds leeway{30};  ///< clock skew allowed on `exp` and `nbf` (>= 0)
    std::string channels_claim = "channels";  ///< claim with the channel patterns a user may use
    std::size_t max_token_bytes = 8192;       ///< longer tokens are `malformed`, never decoded
    /// limits.json_max_depth: header and payload nesting deeper than this are `malformed`.
    std::size_t max_json_depth = 64;
};

/// Why a token was refused. to_string() gives the stable names used in metrics and errors.
enum class jwt_error_code {
    malformed,              ///< not a compact JWS with a JSON object header and payload
    unsupported_algorithm,  ///< `alg` is not the configured algorithm (`none` included)
    bad_signature,          ///< signature wrong, of the wrong length, or made with another key
    expired,                ///< now >= exp + leeway
    not_yet_valid,          ///< now + leeway < nbf
    wrong_issuer,           ///< issuer configured and `iss` absent or different
    wrong_audience,         ///< audience configured and `aud` absent or not containing it
    missing_subject,        ///< `sub` absent, null or ""
    invalid_claims,         ///< a claim of the wrong type (or `sub` longer than 256 bytes)
};

/// "malformed", "unsupported_algorithm", "bad_signature", "expired", "not_yet_valid",
/// "wrong_issuer", "wrong_audience", "missing_subject", "invalid_claims".
const char* to_string(jwt_error_code code);

struct jwt_error {
    jwt_error_code code = jwt_error_code::malformed;
    std::string message;  ///< one line for logs; never contains text from the token
};

/// Who a valid token says the client is.
struct jwt_identity {
    std::string subject;                     ///< `sub`: non-empty, at most 256 bytes
    std::optional<std::int64_t> expires_at;  ///< `exp` in Unix seconds (rounded up), no leeway
    std::vector<std::string> channels;       ///< the channels claim; empty when absent
};

/// Verifies compact-serialized JWS tokens (RFC 7515/7519) signed with one algorithm.
///
/// Immutable after construction: verify() may be called concurrently, and copies share the key.
class jwt_verifier {
  public:
    /// Throws std::invalid_argument, with a one-line message, for unusable settings: unknown
    /// algorithm, HS256 secret shorter than 32 bytes, unparsable PEM, a key of the wrong type
    /// (e.g. RSA for ES256), an RSA key under 2048 bits, an EC key not on P-256, a key or
    /// secret given for the other kind of algorithm, a negative leeway.
    explicit jwt_verifier(jwt_settings settings);

    /// Checks `token` at `now_unix_seconds`. Never throws; any input is safe.
    std::variant<jwt_identity, jwt_error> verify(std::string_view token,
                                                 std::int64_t now_unix_seconds) const;

    const jwt_settings& settings() const;

  private:
    struct impl;
    std::shared_ptr<const impl> impl_;
};

}  // namespace wsgate::auth
