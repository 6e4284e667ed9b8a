#include "runtime/training/progress.h"

#include <unistd.h>

#include <cstdio>

namespace fernn {

std::string format_duration(double s) {
    char buf[32];
    if (s < 0 || s != s) return "?";
    const long t = long(s + 0.5);
    if (t >= 3600) {
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    } else if (t >= 60) {
        std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
    } else {
        std::snprintf(buf, sizeof buf, "%lds", t);
    }
    return buf;
}

Progress::Progress(int64_t total, int64_t first, std::string unit, bool shown)
    : total_(total),
      first_(first),
      unit_(std::move(unit)),
      tty_(isatty(STDERR_FILENO)),
      shown_(shown),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

void Progress::update(int64_t step, const std::string &status) {
    draw(step, status, step == total_);
}

void Progress::draw(int64_t step, const std::string &status, bool force) {
    if (!shown_) return;
    const auto now = std::chrono::steady_clock::now();
    const double since_print = std::chrono::duration<double>(now - last_print_).count();
    // Plain lines: every 10% of the run or every 30 s, whichever comes first.
    const int64_t tenth = std::max<int64_t>(1, (total_ - first_) / 10);
    if (!force && (tty_ ? since_print < 0.2 : (since_print < 30 && (step - first_) % tenth != 0)))
        return;
    last_print_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = (step - first_) / std::max(elapsed, 1e-9);
    const std::string eta = format_duration((total_ - step) / std::max(rate, 1e-12));
    if (tty_) {
        const int width = 24;
        const int filled = int(width * double(step) / std::max<int64_t>(total_, 1));
        std::string bar(filled, '=');
        if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
        std::fprintf(stderr, "\r\033[K%6lld/%lld [%s] %s | ETA %s", (long long)step,
                     (long long)total_, bar.c_str(), status.c_str(), eta.c_str());
        bar_visible_ = true;
    } else {
        std::fprintf(stderr, "%s %lld/%lld %s | ETA %s\n", unit_.c_str(), (long long)step,
                     (long long)total_, status.c_str(), eta.c_str());
    }
    std::fflush(stderr);
}

void Progress::message(const std::string &text) {
    if (!shown_) return;
    if (tty_ && bar_visible_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s\n", text.c_str());
    bar_visible_ = false;
    std::fflush(stderr);
}

void Progress::finish() {
    if (tty_ && bar_visible_) std::fprintf(stderr, "\n");
    bar_visible_ = false;
}

}  // namespace fernn
