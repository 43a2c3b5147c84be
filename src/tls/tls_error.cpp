#include <wsgate/tls/tls_error.hpp>

#include <string>

namespace wsgate {

namespace {

class tls_category_impl final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "wsgate.tls"; }

    std::string message(int ev) const override {
        switch (static_cast<tls_errc>(ev)) {
            case tls_errc::plain_http:
                return "not TLS: looks like plain HTTP";
            case tls_errc::not_tls:
                return "not TLS: the first byte cannot start a TLS record";
            case tls_errc::handshake_failed:
                return "TLS handshake failed";
            case tls_errc::protocol_error:
                return "TLS protocol error";
            case tls_errc::overflow:
                return "TLS peer sent more than the connection holds";
            case tls_errc::not_open:
                return "the TLS session is not open";
        }
        return "unknown TLS error";
    }
};

}  // namespace

const boost::system::error_category& tls_category() noexcept {
    static const tls_category_impl category;
    return category;
}

}  // namespace wsgate
