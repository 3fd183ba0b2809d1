#include "nn/modules/linear.h"

#include <cmath>

#include "core/error.h"
#include "nn/init.h"
#include "nn/modules/fake_quant.h"
#include "nn/ops.h"

namespace tern::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias, uint64_t seed) {
    Rng rng(seed);
    Tensor w = Tensor::empty({out_features, in_features});
    init::kaiming_uniform(w, rng, 1.0f / std::sqrt(3.0f));  // PyTorch's a = sqrt(5) choice
    weight = register_parameter("weight", w);
    if (has_bias) {
        const float bound = 1.0f / std::sqrt(static_cast<float>(in_features));
        Tensor b = Tensor::empty({out_features});
        init::uniform(b, -bound, bound, rng);
        bias = register_parameter("bias", b);
    }
}

Var Linear::forward(const Var& x) {
    if (fake_quant) {
        if (auto y = fake_quant->linear(x, weight, bias)) return *y;  // a layer with its own kernel (XNOR)
        return linear(fake_quant->input(x), fake_quant->weight(weight), bias);
    }
    return linear(x, weight, bias);
}

void Linear::attach_fake_quant(std::shared_ptr<LayerFakeQuant> q) {
    if (fake_quant) throw Error("Linear", "already has a fake quantizer");
    fake_quant = register_module("qat", std::move(q));
}

}  // namespace tern::nn
