// wss:// and https:// served by wsgate itself (tls.cert_file, tls.key_file), checked with a
// client on Asio's own OpenSSL stream.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include <string>
#include <thread>
#include <vector>

#include "background_reader.hpp"
#include "expectations.hpp"
#include "gateway_process.hpp"
#include "http_client.hpp"
#include "polling.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"
#include "test_certs.hpp"
#include "wss_client.hpp"

#include <wsgate/tls/tls_context.hpp>
#include <wsgate/tls/tls_engine.hpp>

#include <fstream>
#include <sstream>

namespace wsgate::test {
namespace {

using nlohmann::json;

/// A certificate and key on disk for the gateway, and a CA file its clients trust.
struct tls_files {
    temp_dir dir;
    std::string cert = dir.write_file("cert.pem", "").string();
    std::string key = dir.write_file("key.pem", "").string();
    std::string ca = dir.write_file("ca.pem", "").string();

    explicit tls_files(const std::string& common_name = "wsgate-first") {
        install(make_self_signed(common_name), true);
    }
    /// Writes `c` as the gateway's files; the clients trust it too (besides earlier ones,
    /// unless `only`).
    void install(const test_certificate& c, bool only = false) {
        dir.write_file("cert.pem", c.cert_pem);
        dir.write_file("key.pem", c.key_pem);
        trusted_ = only ? c.cert_pem : trusted_ + c.cert_pem;
        dir.write_file("ca.pem", trusted_);
    }
    std::vector<std::string> args() const {
        return {"--tls.cert_file", cert, "--tls.key_file", key};
    }

  private:
    std::string trusted_;
};

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

http_response https_publish(std::uint16_t port, const std::string& ca, const json& event) {
    return wss_client::request(port, ca, "POST", "/api/v1/publish", event.dump());
}

double https_metric(std::uint16_t port, const std::string& ca, const std::string& series) {
    const auto res = wss_client::request(port, ca, "GET", "/metrics");
    for (std::size_t at = res.body.find(series + ' '); at != std::string::npos;
         at = res.body.find(series + ' ', at + 1)) {
        if (at == 0 || res.body[at - 1] == '\n')
            return std::stod(res.body.substr(at + series.size() + 1));
    }
    return -1;
}

TEST(tls, wss_client_receives_events_published_over_https) {
    tls_files files;
    gateway_process gw(files.args());
    wss_client client(files.ca);
    const json welcome = client.connect(gw.public_port());
    EXPECT_EQ(client.protocol(), "TLSv1.3");
    EXPECT_EQ(client.peer_common_name(), "wsgate-first");
    client.subscribe("news");

    const auto small = https_publish(gw.public_port(), files.ca, channel_event("news", "hi", "x"));
    ASSERT_EQ(small.status, 202u) << small.body;
    expect_event(client.read_json(), small.json["id"], "hi", "news", "x");

    // Larger than a TLS record (16 KiB) and than what the server encrypts ahead (64 KiB).
    const std::string big(300 * 1024, 'b');
    const auto large = https_publish(gw.public_port(), files.ca, channel_event("news", "big", big));
    ASSERT_EQ(large.status, 202u) << large.body;
    expect_event(client.read_json(), large.json["id"], "big", "news", big);

    // A message from the client goes through the server's decryption.
    client.send_json({{"type", "ping"}, {"id", 7}});
    const json pong = client.read_json();
    EXPECT_EQ(pong["type"], "pong");
    EXPECT_EQ(pong["id"], 7);
    client.close();
    EXPECT_EQ(https_metric(gw.public_port(), files.ca, "wsgate_connections"), 0);
}

TEST(tls, plain_http_to_the_tls_port_is_told_to_use_tls) {
    tls_files files;
    gateway_process gw(files.args());
    const auto res = http_client(gw.public_port()).get("/healthz");
    expect_rest_error(res, 400, "tls_required");
    EXPECT_EQ(https_metric(gw.public_port(), files.ca,
                           "wsgate_errors_total{source=\"handshake\",code=\"tls_required\"}"),
              1);
    // The port still serves TLS clients.
    EXPECT_EQ(wss_client::request(gw.public_port(), files.ca, "GET", "/healthz").status, 200u);
}

TEST(tls, bytes_that_are_not_tls_are_refused_and_counted) {
    tls_files files;
    gateway_process gw(files.args());
    raw_socket garbage(gw.public_port());
    ASSERT_TRUE(garbage.send_all(std::string("\x00\x01\x02not a TLS record", 19)));
    ASSERT_TRUE(garbage.wait_input_end(std::chrono::seconds(5))) << garbage.end_description();
    EXPECT_EQ(https_metric(gw.public_port(), files.ca,
                           "wsgate_errors_total{source=\"handshake\",code=\"tls\"}"),
              1);
    wss_client client(files.ca);
    EXPECT_EQ(client.connect(gw.public_port())["type"], "welcome");
}

TEST(tls, handshake_that_never_comes_is_cut_at_the_handshake_timeout) {
    tls_files files;
    gateway_process gw(files.args() + std::vector<std::string>{"--timeouts.handshake_ms", "500"});
    raw_socket silent(gw.public_port());
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(silent.wait_input_end(std::chrono::seconds(5))) << silent.end_description();
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(450));
    EXPECT_TRUE(silent.received().empty());
    EXPECT_EQ(https_metric(gw.public_port(), files.ca,
                           "wsgate_errors_total{source=\"handshake\",code=\"timeout\"}"),
              1);
}

TEST(tls, sighup_reloads_the_certificate_for_new_connections_and_keeps_open_ones) {
    tls_files files;
    gateway_process gw(files.args());
    wss_client before(files.ca);
    before.connect(gw.public_port());
    before.subscribe("news");

    files.install(make_self_signed("wsgate-renewed"));
    gw.send_signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] {
        return https_metric(gw.public_port(), files.ca, "wsgate_tls_reloads_total") == 1;
    }));
    wss_client after(files.ca);
    after.connect(gw.public_port());
    EXPECT_EQ(after.peer_common_name(), "wsgate-renewed");
    after.subscribe("news");

    const auto res = https_publish(gw.public_port(), files.ca, channel_event("news", "both"));
    ASSERT_EQ(res.status, 202u);
    expect_event(before.read_json(), res.json["id"], "both", "news");
    expect_event(after.read_json(), res.json["id"], "both", "news");

    // A broken key is refused; the renewed certificate stays in use.
    files.dir.write_file("key.pem", "not a key");
    gw.send_signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] {
        return https_metric(gw.public_port(), files.ca,
                            "wsgate_errors_total{source=\"tls\",code=\"reload_failed\"}") == 1;
    }));
    wss_client third(files.ca);
    third.connect(gw.public_port());
    EXPECT_EQ(third.peer_common_name(), "wsgate-renewed");
    EXPECT_NE(gw.log_text().find("TLS certificate not reloaded"), std::string::npos);
    EXPECT_TRUE(gw.running());
}

TEST(tls, separate_api_listener_stays_plain_unless_tls_api_is_set) {
    tls_files files;
    {
        gateway_process gw(files.args() +
                           std::vector<std::string>{"--server.api_listen", "127.0.0.1:0"});
        EXPECT_EQ(http_client(gw.api_port()).get("/healthz").status, 200u);
        wss_client client(files.ca);
        EXPECT_EQ(client.connect(gw.public_port())["type"], "welcome");
    }
    gateway_process gw(files.args() + std::vector<std::string>{"--server.api_listen",
                                                               "127.0.0.1:0", "--tls.api", "true"});
    EXPECT_EQ(wss_client::request(gw.api_port(), files.ca, "GET", "/healthz").status, 200u);
    expect_rest_error(http_client(gw.api_port()).get("/healthz"), 400, "tls_required");
}

TEST(tls, configuration_mistakes_stop_the_start_with_the_key_named) {
    tls_files files;
    auto expect_refused = [](const std::vector<std::string>& args, const std::string& words) {
        const auto run = gateway_process::run_to_completion(args);
        EXPECT_EQ(run.exit_status, 2) << run.err;
        EXPECT_NE(run.err.find(words), std::string::npos) << run.err;
    };
    expect_refused({"--tls.cert_file", files.cert}, "give both or neither");
    expect_refused({"--tls.cert_file", files.cert, "--tls.key_file", files.dir.path().string() + "/none.pem"},
                   "none.pem");
    expect_refused({"--tls.cert_file", files.key, "--tls.key_file", files.key}, "tls:");
    expect_refused(files.args() + std::vector<std::string>{"--tls.api", "true"},
                   "tls.api: true needs server.api_listen");
}

/// Feeds a FIFO: the first reader that opens it gets `first`, every later one `later`, until
/// the object goes away. A file that reads differently each time it is opened, as a key file
/// replaced (or truncated) between two reads would.
class changing_file {
  public:
    changing_file(std::filesystem::path path, std::string first, std::string later)
        : path_(std::move(path)) {
        if (::mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
        writer_ = std::thread([this, first = std::move(first), later = std::move(later)] {
            for (bool opened_before = false; !stop_;) {
                // Non-blocking: fails (ENXIO) until a reader has the FIFO open.
                const int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK);
                if (fd < 0) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(2));
                    continue;
                }
                const std::string& text = opened_before ? later : first;
                opened_before = true;
                // Fits in the pipe's buffer: written at once, whatever the reader does.
                [[maybe_unused]] const auto n = ::write(fd, text.data(), text.size());
                ::close(fd);
                ++opens_;
                // The reader sees EOF once it has read everything; wait for it to close.
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        });
    }
    ~changing_file() {
        stop_ = true;
        writer_.join();
    }
    int opens() const { return opens_; }

  private:
    std::filesystem::path path_;
    std::atomic<bool> stop_{false};
    std::atomic<int> opens_{0};
    std::thread writer_;
};

TEST(tls, key_that_changes_between_the_check_and_the_load_stops_the_start_with_one_line) {
    // The configuration check reads the key, then the gateway reads it again: a file replaced in
    // between (here a FIFO that gives the key once, then something that is no key) must end the
    // start like every other configuration error, not with an uncaught exception.
    tls_files files;
    const auto certificate = make_self_signed("wsgate-changing");
    files.dir.write_file("cert.pem", certificate.cert_pem);
    const auto key = files.dir.path() / "changing-key.pem";
    changing_file changing(key, certificate.key_pem, "not a key any more\n");

    const auto run = gateway_process::run_to_completion(
        {"--server.listen", "127.0.0.1:0", "--tls.cert_file", files.cert, "--tls.key_file",
         key.string()});

    EXPECT_GE(changing.opens(), 1);
    EXPECT_EQ(run.exit_status, 2) << run.err;
    const std::string prefix = "wsgate: configuration error: tls: private key '" + key.string();
    EXPECT_EQ(run.err.rfind(prefix, 0), 0u) << run.err;
    const auto newline = run.err.find('\n');
    EXPECT_TRUE(newline == std::string::npos || newline == run.err.size() - 1)
        << "more than one line: " << run.err;
}

/// A TLS client on wsgate's own engine over a raw socket, so that a test decides how its
/// ciphertext is cut into writes.
class engine_client {
  public:
    engine_client(std::uint16_t port, const std::string& ca)
        : ctx_(tls_context::client(ca)), engine_(ctx_, "localhost"), socket_(port) {
        engine_.start();
        pump_until([this] { return engine_.handshake_done(); });
    }
    /// Encrypts `plain`; the ciphertext waits for send().
    std::string encrypt(const std::string& plain) {
        engine_.write_plain(plain.data(), plain.size());
        return take_ciphertext();
    }
    void send(const std::string& ciphertext) { ASSERT_TRUE(socket_.send_all(ciphertext)); }
    /// Reads and decrypts until the plaintext received contains `text`.
    bool receive(const std::string& text) {
        return pump_until([&] { return plain_.find(text) != std::string::npos; });
    }

  private:
    std::string take_ciphertext() {
        std::string out;
        while (engine_.pending_ciphertext() > 0) {
            const auto piece = engine_.ciphertext();
            out.append(piece);
            engine_.consume_ciphertext(piece.size());
        }
        return out;
    }

    bool pump_until(const std::function<bool()>& done) {
        return socket_.receive_until(
            [&] {
                send(take_ciphertext());  // handshake flights
                if (!socket_.received().empty()) {
                    engine_.feed(socket_.received().data(), socket_.received().size());
                    socket_.received().clear();
                    char buffer[4096];
                    while (std::size_t n = engine_.read_plain(buffer, sizeof buffer))
                        plain_.append(buffer, n);
                }
                return done();
            },
            std::chrono::seconds(5));
    }

    tls_context ctx_;
    tls_engine engine_;
    raw_socket socket_;
    std::string plain_;
};

/// CPU seconds the process has used (utime + stime of /proc/<pid>/stat).
double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i)
        if (i >= 14) ticks += std::stod(field);
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

TEST(tls, half_a_record_waits_for_the_rest_without_spinning) {
    tls_files files;
    gateway_process gw(files.args());
    engine_client client(gw.public_port(), files.ca);
    client.send(client.encrypt(upgrade_request(gw.public_port())));
    ASSERT_TRUE(client.receive("\"welcome\""));

    const std::string record = client.encrypt(client_frame(0x1, R"({"type":"ping","id":5})"));
    client.send(record.substr(0, record.size() / 2));
    const double cpu_before = cpu_seconds(gw.pid());
    std::this_thread::sleep_for(std::chrono::seconds(1));
    // Waiting for the rest of a record costs nothing: no read loop without input.
    EXPECT_LT(cpu_seconds(gw.pid()) - cpu_before, 0.2);
    client.send(record.substr(record.size() / 2));
    EXPECT_TRUE(client.receive("\"pong\""));
}

TEST(tls, frames_in_the_record_of_the_upgrade_request_are_not_lost) {
    tls_files files;
    gateway_process gw(files.args());
    engine_client client(gw.public_port(), files.ca);
    // One record, one write: the request and the client's first frame are decrypted together
    // by the HTTP reader, which hands the frame over with the connection.
    client.send(client.encrypt(upgrade_request(gw.public_port()) +
                               client_frame(0x1, R"({"type":"ping","id":7})")));
    ASSERT_TRUE(client.receive("\"welcome\""));
    EXPECT_TRUE(client.receive(R"({"type":"pong","id":7})"));
}

TEST(tls, stalled_wss_client_is_closed_as_a_slow_consumer_while_another_gets_everything) {
    // 300 × 32 KiB is far more than the kernel's loopback buffers (up to 4 MiB) plus the
    // queue bound hold for the stalled client.
    constexpr int event_count = 300;
    tls_files files;
    gateway_process gw(files.args() + std::vector<std::string>{
                                          "--server.api_listen", "127.0.0.1:0",
                                          "--limits.max_queue_bytes", "262144",
                                          "--limits.max_body_bytes", "65536",
                                          "--limits.max_batch_events", "10"});
    http_client api(gw.api_port());
    wss_client stalled(files.ca), reader(files.ca, std::chrono::seconds(30));
    stalled.set_receive_buffer(16 * 1024);
    stalled.connect(gw.public_port());
    stalled.subscribe("firehose");
    reader.connect(gw.public_port());
    reader.subscribe("firehose");

    const std::string chunk(32 * 1024, 'c');
    std::vector<std::string> ids;
    {
        background_reader reading(reader, event_count);
        // At most 4 events (128 KiB) ahead of the reader, which has the same 256 KiB budget.
        for (int seq = 0; seq < event_count; ++seq) {
            ASSERT_TRUE(reading.wait_for(seq > 4 ? seq - 4 : 0)) << "reader stuck";
            ids.push_back(api.publish_ok(channel_event("firehose", std::to_string(seq), chunk)));
        }
        const auto frames = reading.join();
        ASSERT_EQ(frames.size(), static_cast<std::size_t>(event_count));
        for (int seq = 0; seq < event_count; ++seq)
            ASSERT_EQ(frames[seq].value("id", ""), ids[seq]) << "reader: event " << seq;
    }
    EXPECT_EQ(api.wait_metric("wsgate_slow_consumer_closes_total", 1), 1);
    // What the kernel and the TLS layer already held comes first, then the close frame.
    EXPECT_EQ(stalled.read_until_close(), 1008);
    EXPECT_EQ(api.wait_metric("wsgate_connections", 1), 1);
}

}  // namespace
}  // namespace wsgate::test
