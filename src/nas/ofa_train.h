#pragma once
// Once-for-All's progressive shrinking (Cai et al., ICLR 2020) on an
// OfaSupernet, and the batch-norm recalibration every subnet gets before it is
// judged. Phases, each `epochs_per_phase` passes over the TRAIN images with its
// own cosine learning-rate schedule:
//   1. largest: the largest network alone, cross-entropy;
//   2. kernel: random kernel per block (largest depth and expansion);
//   3. depth: random kernel and depth per stage (largest expansion);
//   4. expansion: hidden channels sorted by importance once, then every
//      choice random.
// Phases 2-4 draw `subnets_per_step` subnets per step and sum their gradients;
// each subnet's loss is CE + kd_weight * T^2 KL(teacher || subnet) with the
// teacher the largest network as it was after phase 1 (frozen, eval mode).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nas/ofa_supernet.h"
#include "nn/data/image_dataset.h"
#include "nn/data/rng.h"

namespace tern::nas {

struct OfaTrainOptions {
    int64_t epochs_per_phase = 1;
    int64_t max_steps_per_phase = 0;  // 0: all of epochs_per_phase
    int64_t subnets_per_step = 2;
    int64_t batch_size = 64;
    float lr = 0.05f, momentum = 0.9f, weight_decay = 4e-5f;
    float kd_weight = 1.0f, kd_temperature = 1.0f;
    uint64_t seed = 1;
    std::function<void(const std::string&)> log;  // progress lines, '\n' included
};

struct OfaPhase {
    std::string name;
    int64_t steps = 0;
    double first_loss = 0, last_loss = 0;  // mean loss over the phase's first and last tenth of steps
    double cpu_seconds = 0;
};

struct OfaTrainReport {
    std::vector<OfaPhase> phases;
    double cpu_seconds = 0;
};

// Throws UsageError for bad options and InputError("search", ...) when the loss diverges.
OfaTrainReport train_progressive(OfaSupernet& net, const Space& s, const data::ImageDataset& train, const OfaTrainOptions& o);

// A subnet the phase may draw: `phase` is "kernel", "depth" or "expansion" (what is elastic so far).
Arch sample_subnet(const Space& s, const Arch& largest, const std::string& phase, data::Rng& rng);

// Re-estimates every batch-norm's running mean and variance as the plain
// average over the first `images` images of `data` (batches of `batch_size`,
// training-mode forwards without gradients); nothing else changes. Leaves the
// model in eval mode.
void recalibrate_batch_norm(nn::models::MobileNetV2& m, const data::ImageDataset& data, int64_t images, int64_t batch_size = 100);

}  // namespace tern::nas
