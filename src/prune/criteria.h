#pragma once
// Pruning criteria over a classifier's weight tensors: which weights matter
// least. Magnitude |w|; first-order Taylor |w * g| (the loss change of
// removing w, to first order, with g the gradient averaged over calibration
// batches); OBD's second-order saliency 1/2 * F_ii * w^2 with the diagonal
// Fisher F_ii = mean over batches of g^2 standing in for the Hessian.
#include <cstdint>
#include <string>
#include <vector>

#include "nn/data/image_dataset.h"
#include "nn/modules/module.h"

namespace tern::prune {

// A Linear (out, in) or Conv (O, I, kh, kw) weight, seen as `rows` rows of
// `row_size` (in, or I*kh*kw): the rows N:M groups run along. Biases and
// batch-norm parameters (rank 1) are never pruned.
struct PrunableWeight {
    std::string name;
    nn::Var param;  // shares the module's tensor
    int64_t rows = 0, row_size = 0;
    int64_t numel() const { return rows * row_size; }
};

// The module's rank-2 and rank-4 parameters, in parameter order.
std::vector<PrunableWeight> prunable_weights(const nn::Module& m);

enum class Criterion { magnitude, taylor, obd };
// "magnitude" | "taylor" | "obd"; anything else is a UsageError.
Criterion criterion_from_name(const std::string& name);
inline bool needs_gradients(Criterion c) { return c != Criterion::magnitude; }

// Per prunable weight: sum over calibration batches of the batch-mean loss
// gradient and of its square (f64, so many batches do not lose the small ones).
struct GradientStats {
    std::vector<std::vector<double>> sum, sq_sum;
    int64_t batches = 0;
};

// Cross-entropy gradients of `model` (in eval mode, so batch-norm statistics
// do not move) over the first `batches` batches of `data`, in order. Leaves
// the parameters' gradients zeroed and the model's mode as it was.
GradientStats accumulate_gradients(nn::UnaryModule& model, const std::vector<PrunableWeight>& weights,
                                   const data::ImageDataset& data, int64_t batches, int64_t batch_size);

// One saliency per weight (larger: keep). `stats` is needed by taylor and obd.
std::vector<std::vector<float>> saliency(Criterion c, const std::vector<PrunableWeight>& weights,
                                         const GradientStats* stats);

}  // namespace tern::prune
