#pragma once
// What the two gradient-based supernet searches (nas/proxyless.h, nas/darts.h)
// share around their training loops, so their budgets behave the same:
//  - the latency model: tern's latency table per candidate op, calibrated to
//    end-to-end latency on the fastest and slowest choice at the narrowest and
//    widest width, and the width they search at (the widest whose fastest
//    choice meets the budget; neither searches the width itself);
//  - Adam on the architecture parameters alpha (doubles, [slot][op]);
//  - deriving the architecture: argmax alpha per slot, then the cheapest
//    repairs (the switch that costs the least log-probability per unit of
//    budget saved) until it meets every budget.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nas/arch.h"
#include "nas/proxyless_latency.h"
#include "nas/supernet_options.h"

namespace tern::nas {

struct SupernetSetup {
    double width = 1;
    std::vector<MixedSlot> slots;
    SlotLatencies lat;          // calibrated (ms, end to end)
    double latency_scale = 1;   // measured / table sum
    std::vector<std::pair<double, double>> calibration;  // (table sum, measured) ms
};

// Throws InputError("budget", ...) when no choice at any width meets the
// budget (latency by the calibrated prediction; a latency_ms of 0 is no
// latency budget).
SupernetSetup supernet_setup(const Space& s, int64_t in_channels, int64_t num_classes, const SupernetSearchCommon& o);

struct AlphaAdamOptions {
    double lr = 6e-3, beta1 = 0, beta2 = 0.999;
    double weight_decay = 0;  // L2 added to the gradient (PyTorch Adam's weight_decay)
};

// Adam on alpha, one moment pair per entry.
struct AlphaAdam {
    std::vector<std::vector<double>> m, v;
    int64_t t = 0;
    void step(std::vector<std::vector<double>>& alpha, const std::vector<std::vector<double>>& grad, const AlphaAdamOptions& o);
};

std::vector<int> argmax_choice(const std::vector<std::vector<double>>& alpha);
// Mean over slots of the largest softmax(alpha) entry: how decided alpha is.
double mean_top_probability(const std::vector<std::vector<double>>& alpha);
// softmax(alpha) per slot.
std::vector<std::vector<double>> alpha_softmax(const std::vector<std::vector<double>>& alpha);

// "k5e4" (kernel 5, expansion 4) or "skip".
std::string candidate_name(const CandidateOp& op);
// One line per slot: "TAG: softmax(alpha) stage S block B: k3e3 0.112 ... skip 0.094 -> k5e6\n".
std::string alpha_report(const std::string& tag, const std::vector<MixedSlot>& slots,
                         const std::vector<std::vector<double>>& alpha);

struct DerivedArch {
    std::vector<int> choice;
    Arch arch, argmax;  // within the budget; before the repairs
    int64_t repairs = 0;
    double predicted_ms = 0;
};

// Throws InputError("budget", ...) when no single switch brings the choice closer to the budget.
DerivedArch derive_within_budget(const Space& s, const SupernetSetup& setup, const Budget& b,
                                 const std::vector<std::vector<double>>& alpha);

}  // namespace tern::nas
