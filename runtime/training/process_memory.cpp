#include "runtime/training/process_memory.h"

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace fernn {

double available_memory_bytes() {
    double available = 0;
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    double kb;
    std::string unit;
    while (meminfo >> key >> kb >> unit) {
        if (key == "MemAvailable:") available = kb * 1024;
    }
    std::ifstream max("/sys/fs/cgroup/memory.max"), current("/sys/fs/cgroup/memory.current");
    std::string limit;
    double used = 0;
    if (max >> limit && limit != "max" && current >> used) {
        available = std::min(available, std::stod(limit) - used);
    }
    return available;
}

double peak_memory_gib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / (1024.0 * 1024.0);  // ru_maxrss is in KiB on Linux
}

void keep_freed_memory_for_reuse() {
    static const bool done = [] {
        mallopt(M_MMAP_THRESHOLD, 1 << 30);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        return true;
    }();
    (void)done;
}

}  // namespace fernn
