#include <wsgate/metrics/process_stats.hpp>

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace wsgate {

namespace {

// Seconds since boot at which the system booted ("btime" in /proc/stat).
double boot_time_seconds() {
    std::ifstream in("/proc/stat");
    std::string key;
    while (in >> key) {
        if (key == "btime") {
            double t = 0;
            in >> t;
            return t;
        }
        in.ignore(1 << 20, '\n');
    }
    return 0;
}

std::uint64_t count_open_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return 0;
    std::uint64_t n = 0;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') ++n;
    }
    ::closedir(dir);
    return n > 0 ? n - 1 : 0;  // not counting the descriptor opendir itself holds
}

}  // namespace

process_stats read_process_stats() {
    process_stats s;
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));

    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (std::getline(stat, line)) {
        // Field 2 (comm) may hold spaces: parse from after its closing parenthesis.
        std::istringstream rest(line.substr(line.rfind(')') + 2));
        std::string field;
        double utime = 0, stime = 0, starttime = 0, rss_pages = 0;
        for (int i = 3; rest >> field; ++i) {
            if (i == 14) utime = std::stod(field);
            if (i == 15) stime = std::stod(field);
            if (i == 22) starttime = std::stod(field);
            if (i == 24) {
                rss_pages = std::stod(field);
                break;
            }
        }
        s.cpu_seconds = (utime + stime) / ticks;
        s.start_time_seconds = boot_time_seconds() + starttime / ticks;
        s.resident_memory_bytes = static_cast<std::uint64_t>(rss_pages * page);
    }
    s.open_fds = count_open_fds();
    return s;
}

}  // namespace wsgate
