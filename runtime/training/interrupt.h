// Ctrl-C and SIGTERM during training: the first asks the trainer to stop after the current
// step and save a resume state there (a batch scheduler's SIGTERM or a user's Ctrl-C then
// loses nothing); a second one while saving ends the process at once, as usual.
#pragma once

namespace fernn {

class InterruptGuard {
  public:
    InterruptGuard();   // installs the handlers for SIGINT and SIGTERM
    ~InterruptGuard();  // restores the previous ones
    InterruptGuard(const InterruptGuard &) = delete;
    InterruptGuard &operator=(const InterruptGuard &) = delete;

    // The signal received since construction, or 0.
    int signal() const;
};

}  // namespace fernn
