#include "runtime/training/bptt_memory.h"

#include <algorithm>
#include <cstdio>

namespace fernn {

namespace {

// Floats per sample of one step: the hidden states alone, and with every activation the
// backward reads (layer inputs, the lifting).
struct StepFloats {
    double states = 0, saved = 0;
};

StepFloats step_floats(const Spec &s) {
    const double pixels = double(s.input.height) * s.input.width;
    StepFloats f;
    for (const auto &l : s.recurrence.layers) {
        const double h = pixels * l.channels * s.copies();
        f.states += h;
        f.saved += h * (l.input ? 2 + l.input->batchnorm : 1);
    }
    for (const auto &l : s.lifting.layers) f.saved += pixels * l.channels * (l.batchnorm ? 2 : 1);
    return f;
}

// Bytes as GiB, or MiB or KiB below that (a small model's trace is a few MiB).
std::string gib(double bytes) {
    char text[32];
    if (bytes >= double(1 << 30)) {
        std::snprintf(text, sizeof text, "%.1f GiB", bytes / double(1 << 30));
    } else if (bytes >= double(1 << 20)) {
        std::snprintf(text, sizeof text, "%.1f MiB", bytes / double(1 << 20));
    } else {
        std::snprintf(text, sizeof text, "%.1f KiB", bytes / double(1 << 10));
    }
    return text;
}

}  // namespace

double bptt_bytes(const Spec &s, int batch, int recompute) {
    const double pixels = double(s.input.height) * s.input.width;
    const int steps = s.sequence.input_frames + s.sequence.output_frames;
    const StepFloats f = step_floats(s);
    // Stored: every step's states and activations. Recomputed: the states after every K-th
    // step and the last, and one segment's states and activations while it is recomputed.
    const double kept = recompute == 0 ? (steps + 1) * f.saved
                                       : ((steps + recompute - 1) / recompute + 1) * f.states +
                                             std::min(recompute, steps) * f.saved;
    // The readout's pooled features and decoder activations: every decoder step's, or the one
    // being recomputed.
    const int readouts = recompute == 0 ? s.sequence.output_frames : 1;
    const double decoder =
        s.readout.predicts_frames()
            ? readouts * (s.readout.frames.decoder_layers + 1) * pixels * s.top_channels()
            : 0;
    const double frames = (steps + 2 * s.sequence.output_frames) * pixels * s.input.channels;
    const double backward = 4 * f.saved;  // carries, totals, input gradients
    return 4.0 * batch * (kept + decoder + frames + backward);
}

int leanest_recompute(const Spec &s) {
    const int steps = s.sequence.input_frames + s.sequence.output_frames;
    int best = 1;
    for (int k = 2; k <= steps; ++k)
        if (bptt_bytes(s, 1, k) < bptt_bytes(s, 1, best)) best = k;
    return best;
}

std::string recompute_text(int recompute) {
    return recompute == kRecomputeAuto ? "auto" : std::to_string(recompute);
}

BpttChoice choose_bptt(const Spec &s, int batch, int ranks, int here, int requested, double budget,
                       const std::string &budget_source) {
    const int lean = leanest_recompute(s);
    auto need = [&](int k) { return bptt_bytes(s, batch, k) * here; };
    auto how = [&](int k) {
        return k == 0 ? std::string("keeping every hidden state")
                      : "recomputing segments of " + std::to_string(k) + " steps";
    };
    const std::string lean_gain = "one hidden state in " + std::to_string(lean) +
                                  " kept: " + gib(need(lean)) +
                                  ", about one more forward per step, the same gradients";
    BpttChoice c;
    c.recompute = requested == kRecomputeAuto ? 0 : requested;
    if (budget <= 0 || need(c.recompute) <= budget) return c;
    if (requested == kRecomputeAuto && need(lean) <= budget) {
        c.recompute = lean;
        c.note = "BPTT keeping every hidden state would need " + gib(need(0)) + " of the " +
                 gib(budget) + " available (" + budget_source + "); recomputing instead (" +
                 lean_gain + ")";
        return c;
    }
    // Refused, with the largest global batch that fits (a multiple of the ranks), if any.
    auto fits = [&](int k) { return int(budget / (bptt_bytes(s, 1, k) * here)) * ranks; };
    const int best =
        requested == kRecomputeAuto || fits(lean) > fits(c.recompute) ? lean : c.recompute;
    char shape[200];
    std::snprintf(shape, sizeof shape, "%d+%d steps x |V|=%d x %d channels x %dx%d%s",
                  s.sequence.input_frames, s.sequence.output_frames, s.copies(), s.top_channels(),
                  s.input.height, s.input.width,
                  here > 1 ? (", " + std::to_string(here) + " ranks on this machine").c_str() : "");
    std::string msg = "BPTT for batch " + std::to_string(batch * ranks) + " needs about " +
                      gib(need(c.recompute)) + " " + how(c.recompute);
    if (requested == kRecomputeAuto) msg += " and " + gib(need(lean)) + " " + how(lean);
    msg += " (" + std::string(shape) + ") but " + gib(budget) + " are available (" + budget_source +
           "); ";
    if (requested == 0 && need(lean) <= budget) {
        msg += "use --recompute auto (" + lean_gain + "), a smaller --batch";
    } else if (fits(best) == 0) {
        msg += "not even batch " + std::to_string(ranks) + " fits: use more memory";
    } else {
        msg += "use --batch " + std::to_string(fits(best)) + " or less";
        if (best != c.recompute && requested != kRecomputeAuto)
            msg += " with --recompute " + std::to_string(best);
    }
    throw InputError(msg + ", fewer hidden channels, or fewer velocities");
}

}  // namespace fernn
