#pragma once
// Batch-norm recalibration: every BatchNorm2d's running statistics recomputed
// as the plain average over a few training batches. A model whose channels
// were cut (prune/) or sliced out of a supernet (nas/) keeps statistics
// measured on a different network; recomputing them costs forwards only
// (no weight changes) and brings its accuracy back near what fine-tuning
// starts from (EagleEye, Li et al. 2020; OFA).
#include <cstdint>

#include "nn/data/image_dataset.h"
#include "nn/modules/module.h"

namespace tern::nn::train {

// Recomputes the running mean / variance of every BatchNorm2d inside `m` over
// the first `images` images of `data` (batches of `batch_size`, training-mode
// forwards without gradients); nothing else changes. Leaves `m` in eval mode.
// A model without batch norms is left as it is.
void recalibrate_batch_norms(UnaryModule& m, const data::ImageDataset& data, int64_t images, int64_t batch_size = 100);

}  // namespace tern::nn::train
