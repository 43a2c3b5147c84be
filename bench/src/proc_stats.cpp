#include "proc_stats.hpp"

#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace wsgate_bench {

namespace {

double process_cpu_seconds(int pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto after_name = line.rfind(')');  // the command name may hold spaces
    if (after_name == std::string::npos) return 0;
    std::istringstream fields(line.substr(after_name + 2));
    std::string field;
    long utime = 0;
    long stime = 0;
    // Field 3 (state) is the first after the name; utime and stime are fields 14 and 15.
    for (int number = 3; number <= 15 && fields >> field; ++number) {
        if (number == 14) utime = std::atol(field.c_str());
        if (number == 15) stime = std::atol(field.c_str());
    }
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// Second field of /proc/<pid>/schedstat: nanoseconds spent on a run queue, waiting for a CPU
// (for the main thread; wsgate and the bench run on one thread). 0 when unavailable.
double runq_seconds(const std::string& pid) {
    std::ifstream schedstat("/proc/" + pid + "/schedstat");
    unsigned long long on_cpu = 0, waited = 0;
    if (!(schedstat >> on_cpu >> waited)) return 0;
    return double(waited) / 1e9;
}

// A `Key:   123 kB` line of /proc/<pid>/status, in bytes.
std::int64_t status_kib_field(int pid, const std::string& key) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.compare(0, key.size() + 1, key + ":") == 0)
            return std::atoll(line.c_str() + key.size() + 1) * 1024;
    return 0;
}

// Inodes of sockets listening on `port` in one /proc/net/tcp* table.
std::vector<std::string> listening_inodes(const std::string& table, int port) {
    std::ifstream file(table);
    std::string line;
    std::vector<std::string> inodes;
    std::getline(file, line);  // header
    while (std::getline(file, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
        fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
            timeout >> inode;
        const auto colon = local.rfind(':');
        if (state != "0A" || colon == std::string::npos) continue;
        if (std::strtol(local.c_str() + colon + 1, nullptr, 16) == port) inodes.push_back(inode);
    }
    return inodes;
}

bool process_holds_socket(const std::string& pid, const std::vector<std::string>& inodes) {
    const std::string fd_dir = "/proc/" + pid + "/fd";
    DIR* dir = opendir(fd_dir.c_str());
    if (dir == nullptr) return false;
    bool found = false;
    while (dirent* entry = readdir(dir)) {
        char target[64] = {};
        const std::string link = fd_dir + "/" + entry->d_name;
        if (readlink(link.c_str(), target, sizeof target - 1) <= 0) continue;
        for (const auto& inode : inodes)
            if (std::string(target) == "socket:[" + inode + "]") found = true;
        if (found) break;
    }
    closedir(dir);
    return found;
}

}  // namespace

server_sample sample_servers(const std::vector<int>& pids) {
    server_sample sample;
    for (int pid : pids) {
        sample.cpu_seconds += process_cpu_seconds(pid);
        sample.runq_seconds += runq_seconds(std::to_string(pid));
        sample.rss_bytes += status_kib_field(pid, "VmRSS");
        sample.peak_rss_bytes += status_kib_field(pid, "VmHWM");
    }
    return sample;
}

int find_listener_pid(int port) {
    std::vector<std::string> inodes = listening_inodes("/proc/net/tcp", port);
    for (const auto& inode : listening_inodes("/proc/net/tcp6", port)) inodes.push_back(inode);
    if (inodes.empty()) return 0;
    DIR* proc = opendir("/proc");
    if (proc == nullptr) return 0;
    int pid = 0;
    while (dirent* entry = readdir(proc)) {
        const std::string name = entry->d_name;
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        if (process_holds_socket(name, inodes)) {
            pid = std::atoi(name.c_str());
            break;
        }
    }
    closedir(proc);
    return pid;
}

double own_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double own_runq_seconds() { return runq_seconds("self"); }

}  // namespace wsgate_bench
