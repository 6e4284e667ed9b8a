// Training progress: a live bar on a terminal, plain periodic lines otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fernn {

class Progress {
  public:
    // total: steps of the run; first: the step it starts from (resume); unit names a step in
    // plain lines ("step 10/100"). A progress that is not `shown` prints nothing (the ranks of a
    // data-parallel run other than rank 0).
    Progress(int64_t total, int64_t first, std::string unit = "step", bool shown = true);
    // After step `step` (1-based count of finished steps); `status` is shown after the bar.
    void update(int64_t step, const std::string &status);
    // A message on its own line, without breaking the bar.
    void message(const std::string &text);
    void finish();

  private:
    void draw(int64_t step, const std::string &status, bool force);

    int64_t total_, first_;
    std::string unit_;
    bool tty_, shown_;
    std::chrono::steady_clock::time_point start_, last_print_;
    bool bar_visible_ = false;
};

std::string format_duration(double seconds);

}  // namespace fernn
