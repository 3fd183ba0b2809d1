#pragma once
// ProxylessNAS's over-parameterized view of a Space at one width, and its
// latency loss. Every block position of every stage is a slot holding a mixed
// op over the candidates (kernel x expansion, plus a zero op, "skip", in the
// slots past the stage's smallest depth); a choice of one candidate per slot is
// an Arch. The latency of each candidate comes from tern's latency table
// (hw/latency_table: the mbconv entry of the block's exact configuration),
// times one calibration factor to end-to-end latency, so the expected latency
//   E[lat] = fixed + sum_slots sum_ops softmax(alpha_slot)_op * lat_op
// is differentiable in alpha. The loss is the multiplicative form
//   loss = CE * (E[lat] / target)^beta
// (MnasNet's reward turned into a loss; ProxylessNAS's released code offers
// it as "mul"), so beta is the one knob for how hard latency pushes.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hw/latency_table.h"
#include "nas/arch.h"

namespace tern::nas {

struct CandidateOp {
    int64_t kernel = 3, expansion = 1;
    bool skip = false;  // the zero op: the block is left out (an identity on its residual)
};

struct MixedSlot {
    size_t stage = 0, index = 0;  // stage and block position within it
    int64_t in_channels = 0, out_channels = 0, stride = 1, size = 28;  // scaled channels; input side
    std::vector<CandidateOp> ops;  // kernels x expansions, then skip where the depth may shrink
};

// Every slot of `s` at `width`. Throws InputError(where, ...) when a stage's
// depth choices are not a contiguous range (skips can only shorten a stage one
// block at a time from its largest depth).
std::vector<MixedSlot> mixed_slots(const Space& s, double width, const std::string& where, int64_t resolution = 28);

// One op index per slot -> the Arch it describes (skipped blocks left out).
Arch choice_arch(const Space& s, double width, const std::vector<MixedSlot>& slots, const std::vector<int>& choice);
// The inverse: the op index per slot for an Arch of the space at `width`.
std::vector<int> arch_choice(const Arch& a, const std::vector<MixedSlot>& slots);

// Microseconds of one layer configuration (the default reads tern's latency table).
using LayerLatency = std::function<double(const hw::LayerConfig&)>;

struct SlotLatencies {
    double fixed_ms = 0;                     // stem, head, pooling, classifier
    std::vector<std::vector<double>> op_ms;  // [slot][op]; a skip costs 0
    double scale = 1;                        // table -> end-to-end factor, already in the numbers above
    double of(const std::vector<int>& choice) const;  // latency of one choice
};

// The table's entries for every candidate of every slot (no scale yet).
SlotLatencies slot_latencies(const Space& s, double width, const std::vector<MixedSlot>& slots, const LayerLatency& layer_us,
                             int64_t in_channels = 1, int64_t num_classes = 10);
void apply_scale(SlotLatencies& l, double scale);

// tern's default latency table (measuring and saving the entries it lacks), as a LayerLatency.
// The table file is read on the first call and written back by the returned saver.
struct TableLatency {
    LayerLatency latency;
    std::function<void()> save;  // writes newly measured entries to the table file
};
TableLatency default_table_latency();

std::vector<double> softmax(const std::vector<double>& alpha);

struct ExpectedLatency {
    double ms = 0;
    std::vector<std::vector<double>> grad;  // d ms / d alpha, [slot][op]
};
ExpectedLatency expected_latency(const SlotLatencies& l, const std::vector<std::vector<double>>& alpha);

struct LatencyLoss {
    double loss = 0, d_ce = 0, d_latency = 0;  // value and its partials by CE and by E[lat]
};
// CE * (E[lat] / target)^beta.
LatencyLoss latency_loss(double ce, double expected_ms, double target_ms, double beta);

}  // namespace tern::nas
