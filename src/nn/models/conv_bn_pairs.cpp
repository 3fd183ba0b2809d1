#include "nn/models/conv_bn_pairs.h"

#include "core/error.h"
#include "nn/models/lenet.h"
#include "nn/models/mobilenetv2.h"
#include "nn/modules/fake_quant.h"
#include "nn/modules/sequential.h"

namespace tern::nn::models {

std::vector<std::pair<Conv2d*, BatchNorm2d*>> conv_batch_norm_pairs(UnaryModule& model) {
    std::vector<std::pair<Conv2d*, BatchNorm2d*>> out;
    auto add = [&](const std::shared_ptr<Conv2d>& c, const std::shared_ptr<BatchNorm2d>& bn) {
        if (c && bn) out.emplace_back(c.get(), bn.get());
    };
    if (auto* m = dynamic_cast<LeNet5*>(&model)) {
        add(m->conv1, m->bn1);
        add(m->conv2, m->bn2);
    } else if (auto* m = dynamic_cast<MobileNetV2*>(&model)) {
        add(m->stem, m->stem_bn);
        for (size_t i = 0; i < m->blocks->size(); ++i) {
            auto* b = dynamic_cast<InvertedResidual*>(&(*m->blocks)[i]);
            if (!b) continue;
            add(b->expand, b->expand_bn);
            add(b->dw, b->dw_bn);
            add(b->project, b->project_bn);
        }
        add(m->head, m->head_bn);
    }
    return out;
}

int64_t fold_batch_norms_into_quantizers(UnaryModule& model, const std::string& where) {
    const auto pairs = conv_batch_norm_pairs(model);
    if (pairs.empty())
        throw InputError(where, "qat.fold_bn: the model has no convolution followed by batch norm (lenet5_bn and "
                                "mobilenetv2 models have)");
    for (const auto& [conv, bn] : pairs) {
        if (!conv->fake_quant) throw InputError(where, "qat.fold_bn: a convolution has no fake quantizer");
        conv->fake_quant->folded_bn = bn;
    }
    return static_cast<int64_t>(pairs.size());
}

}  // namespace tern::nn::models
