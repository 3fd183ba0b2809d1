#include "nn/modules/linear.h"

#include <cmath>

#include "nn/init.h"
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

Var Linear::forward(const Var& x) { return linear(x, weight, bias); }

}  // namespace tern::nn
