#pragma once
// Centroid fine-tuning of K-means shared weights (Deep Compression, Han et
// al. 2016), as a recipe's "kmeans" section says. Before the first step every
// Linear / Conv weight of the `init` model is clustered (quant/kmeans_share.h)
// and tied to its centroid; after each backward pass every weight's gradient
// is replaced by its centroid's gradient, the sum of the gradients of the
// weights sharing it (pruned zeros get none). Weights of one cluster start
// equal and get equal gradients, so the elementwise optimizer step moves them
// as one centroid; on_step_end re-ties them against rounding and keeps zeros
// zero. The written model is then stored compressed (quant/kmeans_model.h).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/train/run.h"
#include "quant/kmeans_model.h"

namespace tern::quant {

// The weights, their codebooks and the hooks that keep them shared.
class CentroidTrainer {
public:
    explicit CentroidTrainer(int bits);
    nn::train::TrainHooks hooks();
    // Clusters and ties the model's weights (the first step does it by itself).
    void start(nn::Module& model);
    // Each shared weight's gradient := the sum over its cluster (zero for pruned weights).
    void share_gradients();
    // Each weight := its cluster's mean (the members are equal up to rounding); zeros stay zero.
    void tie_weights();
    const std::vector<SharedCodebook>& codebooks() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

struct KmeansRun {
    nn::train::RunResult run;  // test accuracy is the shared model's (what the compressed file decodes to)
    std::vector<KmeansLayerReport> layers;
    uint64_t init_bytes = 0, output_bytes = 0;  // the init model file and the compressed output on disk
};

// Checks the init model, fine-tunes the centroids, then rewrites the output as
// the compressed file.
KmeansRun run_kmeans_training(const nn::train::Recipe& r, const nn::train::RunOptions& options);

}  // namespace tern::quant
