#pragma once
// Channel selection by regression (He, Zhang & Sun 2017, "Channel Pruning for
// Accelerating Very Deep Neural Networks"): for each channel group (prune/
// channel_prune.h), look at the layer that reads the group's channels (the
// consumer: the next conv / linear). Its output is a sum of per-channel
// contributions, Y = sum_c X_c W_c^T. LASSO picks the channels:
//   min_beta ||Y - sum_c beta_c X_c W_c^T||² + lambda |beta|_1,
// lambda raised (bisection) until only `keep` coefficients are non-zero; then
// the consumer's weights on the kept channels are refit by least squares,
//   min_W' ||X W^T - X_K W'^T||²,
// so the kept channels take over what the removed ones contributed. Both are
// quadratic in the data, so everything runs on the consumer's input Hessian
// X^T X (prune/layer_hessian.h) from calibration images: the LASSO's Gram
// matrix is G_cd = sum_o w_oc^T H_cd w_od. Groups are done in order, each
// calibrated on the model with the earlier groups already pruned (their
// consumers refit and the dropped channels' columns zeroed, which computes
// the same function as the narrowed model).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/data/image_dataset.h"
#include "nn/modules/module.h"

namespace tern::prune {

struct RegressionOptions {
    int64_t images = 1024;  // calibration images (the first of `data`)
    double ridge = 1e-3;    // least squares: this fraction of mean(diag H) added to the diagonal
    std::function<void(const std::string&)> log;
};

// The LASSO on the channel Gram matrix G (n, n) and b = G·1 (the dense
// output): coordinate descent from beta = 1. Returns beta.
std::vector<double> channel_lasso(const std::vector<double>& g, int64_t n, double lambda, int iterations = 200);

// The `keep` channels (sorted) LASSO selects: the largest lambda that leaves
// at least `keep` non-zero coefficients, then the `keep` largest |beta|.
std::vector<int64_t> lasso_select(const std::vector<double>& g, int64_t n, int64_t keep);

// For every group of `model_name`, selects widths[g] channels and refits the
// consumer's weights in `model` (in place; dropped channels' columns become 0).
// Returns the kept channel lists for narrow_model. `make_copy` builds a fresh
// model holding `model`'s current weights (the Hessians are recorded on it).
std::vector<std::vector<int64_t>> regression_channels(
    nn::UnaryModule& model, const std::string& model_name, const std::vector<int64_t>& widths,
    const data::ImageDataset& data, const std::function<std::shared_ptr<nn::UnaryModule>()>& make_copy,
    const RegressionOptions& options);

}  // namespace tern::prune
