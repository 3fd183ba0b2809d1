#include "nn/train/batch_norm_recalibration.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "nn/autograd.h"
#include "nn/modules/norm.h"

namespace tern::nn::train {
namespace {

void recalibration_collect_batch_norms(Module& m, std::vector<BatchNorm2d*>& out) {
    if (auto* bn = dynamic_cast<BatchNorm2d*>(&m)) out.push_back(bn);
    for (auto& [name, child] : m.children()) recalibration_collect_batch_norms(*child, out);
}

}  // namespace

void recalibrate_batch_norms(UnaryModule& m, const data::ImageDataset& data, int64_t images, int64_t batch_size) {
    if (images < 1 || batch_size < 1) throw UsageError("batch norm", "recalibration needs images");
    images = std::min(images, data.size());
    std::vector<BatchNorm2d*> bns;
    recalibration_collect_batch_norms(m, bns);
    if (bns.empty()) return;
    std::vector<float> momentum;
    for (BatchNorm2d* bn : bns) {
        momentum.push_back(bn->momentum);
        std::fill_n(bn->running_mean.data<float>(), bn->running_mean.numel(), 0.0f);
        std::fill_n(bn->running_var.data<float>(), bn->running_var.numel(), 1.0f);
    }
    m.train(true);
    {
        NoGradGuard no_grad;
        int64_t batches = 0;
        for (int64_t start = 0; start < images; start += batch_size) {
            const int64_t n = std::min(batch_size, images - start);
            Tensor x = Tensor::empty({n, data.channels(), data.height(), data.width()});
            std::memcpy(x.data<float>(), data.image(start), static_cast<size_t>(n * data.image_numel()) * sizeof(float));
            ++batches;
            // momentum 1/k makes the running statistic the plain mean over the k batches so far.
            for (BatchNorm2d* bn : bns) bn->momentum = 1.0f / static_cast<float>(batches);
            m.forward(Var(x));
        }
    }
    for (size_t i = 0; i < bns.size(); ++i) bns[i]->momentum = momentum[i];
    m.train(false);
}

}  // namespace tern::nn::train
