#pragma once
// The input Hessian X^T X of one Conv2d or Linear of a classifier, from
// calibration images: what layer-wise OBS (prune/obs.h) reconstructs against.
// A Linear's X is its input rows; a convolution's are the im2col patches of
// every output position (one Hessian per group, patch order (c, ky, kx) as the
// weight's rows). The inputs are seen through the layer's per-forward hook (a
// LayerFakeQuant that quantizes nothing), so it works for every model of the
// zoo without a second forward of its own; the hook stays attached, so call
// it on a throwaway copy of the model.
#include <cstdint>
#include <string>
#include <vector>

#include "nn/data/image_dataset.h"
#include "nn/modules/module.h"

namespace tern::prune {

struct LayerHessian {
    int64_t groups = 1, cols = 0;  // cols: a weight row (in, or Cg·kh·kw)
    std::vector<double> h;         // groups × (cols, cols), summed over the input rows
    int64_t input_rows = 0;        // rows of X (per group)
};

// Runs the first `images` images of `data` through `model` (eval mode, no
// autograd) in batches of `batch` and accumulates the input Hessian of the
// Conv2d / Linear named `layer` (a dotted module path, "fc1", "conv2").
// Error when there is no such layer or it already has a quantizer attached.
LayerHessian layer_input_hessian(nn::UnaryModule& model, const std::string& layer, const data::ImageDataset& data,
                                 int64_t images, int64_t batch = 64);

}  // namespace tern::prune
