#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace wsgate {

/// Why a TLS connection failed, as error codes (category "wsgate.tls"). The engine's
/// error_message() adds OpenSSL's reason ("no shared cipher", "wrong version number", ...).
enum class tls_errc {
    plain_http = 1,    ///< the peer spoke plain HTTP to the TLS port
    not_tls,           ///< the first byte received cannot start a TLS record
    handshake_failed,  ///< OpenSSL refused the handshake (version, ciphers, bad record, alert)
    protocol_error,    ///< a bad record or a fatal alert after the handshake
    overflow,          ///< the peer sent more than the engine holds (see tls_limits)
    not_open,          ///< a write before the handshake completed or after close_notify
};

const boost::system::error_category& tls_category() noexcept;

inline boost::system::error_code make_error_code(tls_errc e) noexcept {
    return {static_cast<int>(e), tls_category()};
}

}  // namespace wsgate

namespace boost::system {
template <>
struct is_error_code_enum<wsgate::tls_errc> : std::true_type {};
}  // namespace boost::system
