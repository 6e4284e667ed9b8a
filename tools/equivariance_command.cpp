// fernn equivariance: the FERNN theorem checked on the spec's own model, for every ν̂ of V or
// the given ones, per layer, on random or given input, with initial or trained weights.
#include <cstdio>
#include <random>

#include "runtime/formats/npy.h"
#include "runtime/formats/strict_number.h"
#include "runtime/groups/flow_action.h"
#include "runtime/model/checkpoint.h"
#include "runtime/model/equivariance.h"
#include "tools/commands.h"

namespace fernn::cli {

namespace {

// "--nu" text as a group element: "vx,vy" (translation) or degrees (rotation).
std::vector<int> parse_nu(const FlowSpec &flow, const std::string &text) {
    std::vector<int> nu;
    size_t start = 0;
    while (true) {
        const size_t comma = text.find(',', start);
        const std::string part = text.substr(start, comma == std::string::npos ? comma : comma - start);
        const auto value = parse_int64(part, -100000, 100000);
        if (!value) {
            throw InputError("--nu " + text + ": \"" + part + "\" is not an integer; allowed: " +
                             (flow.group == "rotation" ? "degrees, e.g. --nu 90"
                                                       : "vx,vy in pixels, e.g. --nu 1,-1"));
        }
        nu.push_back(int(*value));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    const size_t want = flow.group == "rotation" ? 1 : 2;
    if (nu.size() != want) {
        throw InputError("--nu " + text + ": " + std::to_string(nu.size()) + " value(s); allowed: " +
                         (want == 1 ? "one angle in degrees" : "two values vx,vy"));
    }
    return nu;
}

std::string nu_label(const FlowSpec &flow, const std::vector<int> &nu) {
    if (flow.group == "rotation") return std::to_string(nu[0]) + "deg";
    return "(" + std::to_string(nu[0]) + "," + std::to_string(nu[1]) + ")";
}

template <typename T>
int run_check(std::shared_ptr<ModelLibrary> lib, const EquivarianceArgs &a,
              const std::string &checkpoint) {
    SequenceModel<T> model(lib);
    const Spec &spec = model.spec();
    ModelWeights<T> weights = checkpoint.empty()
                                  ? init_weights<T>(model.plan(), a.seed)
                                  : load_checkpoint<T>(checkpoint, model.plan(), spec.name);
    Array<T> x;
    if (!a.input.empty()) {
        x = read_npy<T>(a.input);
    } else {
        const int frames = a.frames > 0 ? a.frames : spec.sequence.input_frames;
        x = Array<T>({a.batch, frames, spec.input.channels, spec.input.height, spec.input.width});
        std::mt19937_64 rng(a.seed + 1);
        std::uniform_real_distribution<double> uniform(0.0, 1.0);
        for (auto &v : x.data) v = T(uniform(rng));
    }
    std::vector<std::vector<int>> nus;
    for (const auto &text : a.nu) nus.push_back(parse_nu(spec.flow, text));
    if (nus.empty()) nus = spec.flow.velocities;
    const Mode mode = a.mode == "train" ? Mode::Train : Mode::Eval;

    std::printf("%s: flow %s, |V| = %d, %d x %d frames, %lld sequence(s) of %lld frames, %s "
                "weights, %s mode\n",
                spec.name.c_str(), spec.flow.group.c_str(), spec.copies(), spec.input.height,
                spec.input.width, (long long)x.shape[0], (long long)x.shape[1],
                checkpoint.empty() ? ("initial (seed " + std::to_string(a.seed) + ")").c_str()
                                   : checkpoint.c_str(),
                a.mode.c_str());
    std::printf("relative deviation of the hidden states from the theorem (largest over frames)\n");
    std::printf("  %-12s", "nu_hat");
    for (int l = 0; l < spec.layers(); ++l) std::printf("  layer %-6d", l);
    if (model.classifies()) std::printf("  logits      ");
    std::printf("  copies  action\n");
    double worst_exact = 0;
    bool failed = false;
    for (const auto &nu : nus) {
        const EquivarianceCheck c = check_equivariance(model, weights, x, nu, mode);
        std::printf("  %-12s", nu_label(spec.flow, nu).c_str());
        double worst = 0;
        for (double e : c.layer_error) {
            std::printf("  %-12.3e", e);
            worst = std::max(worst, e);
        }
        if (model.classifies()) std::printf("  %-12.3e", c.logits_change);
        std::printf("  %2d/%-3d  %s\n", c.compared_copies, spec.copies(),
                    c.compared_copies == 0 ? "no copy has its partner nu - nu_hat in V"
                    : c.exact              ? "exact (pixel permutation)"
                                           : "interpolated (measured)");
        if (c.exact && c.compared_copies > 0) {
            worst_exact = std::max(worst_exact, worst);
            if (!(worst <= a.tolerance)) failed = true;
        }
    }
    std::printf("worst deviation where the action is exact: %.3e (tolerance %g): %s\n", worst_exact,
                a.tolerance, failed ? "NOT equivariant" : "equivariant");
    std::printf("(interpolated actions resample bilinearly, which does not commute with the "
                "nonlinearity: their deviation depends on the weights and the input)\n");
    return failed ? 1 : 0;
}

}  // namespace

int equivariance(const EquivarianceArgs &a) {
    const Spec spec = load_model_spec(a, "equivariance");
    if (!has_group_action(spec.flow)) {
        throw InputError((a.spec.empty() ? a.run : a.spec) + ": flow.group \"" + spec.flow.group +
                         "\" moves copies by learned filters, not by a group: there is no "
                         "theorem to check; allowed: \"translation\", \"rotation\"");
    }
    if (a.mode != "eval" && a.mode != "train")
        throw InputError("--mode " + a.mode + ": allowed: eval, train");
    const std::string checkpoint =
        a.checkpoint.empty() && !a.run.empty() ? checkpoint_of(a, "", "equivariance") : a.checkpoint;
    auto lib = resolve_model(a, spec);
    return lib->is_float64() ? run_check<double>(lib, a, checkpoint)
                             : run_check<float>(lib, a, checkpoint);
}

}  // namespace fernn::cli
