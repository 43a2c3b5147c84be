#include <wsgate/tls/tls_stream.hpp>

#include <boost/asio/error.hpp>

namespace wsgate {

namespace detail {

boost::asio::mutable_buffer tls_read_scratch() noexcept {
    // Two full TLS records and change: most reads feed the engine whole records.
    thread_local std::array<char, 32 * 1024> scratch;
    return boost::asio::buffer(scratch);
}

}  // namespace detail

tls_stream::tls_stream(socket_type socket, tls_engine engine)
    : socket_(std::move(socket)), engine_(std::move(engine)), flush_wait_(socket_.get_executor()) {
    flush_wait_.expires_at(boost::asio::steady_timer::time_point::max());
    error_code ignored;
    socket_.non_blocking(true, ignored);
}

bool tls_stream::read_socket(error_code& ec) {
    const boost::asio::mutable_buffer scratch = detail::tls_read_scratch();
    const std::size_t n = socket_.read_some(scratch, ec);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
        ec = {};
        return false;
    }
    if (ec) return false;
    engine_.feed(scratch.data(), n);
    return true;
}

}  // namespace wsgate
