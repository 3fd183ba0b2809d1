#include "nn/modules/norm.h"

#include "nn/init.h"
#include "nn/ops.h"

namespace tern::nn {

namespace {
Tensor filled(int64_t n, float v) {
    Tensor t = Tensor::empty({n});
    init::constant(t, v);
    return t;
}
}  // namespace

BatchNorm2d::BatchNorm2d(int64_t channels, float eps_, float momentum_) : eps(eps_), momentum(momentum_) {
    weight = register_parameter("weight", filled(channels, 1.0f));
    bias = register_parameter("bias", filled(channels, 0.0f));
    running_mean = filled(channels, 0.0f);
    running_var = filled(channels, 1.0f);
    register_buffer("running_mean", running_mean);
    register_buffer("running_var", running_var);
}

Var BatchNorm2d::forward(const Var& x) {
    return batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps);
}

LayerNorm::LayerNorm(int64_t dim, float eps_, bool has_bias) : eps(eps_) {
    weight = register_parameter("weight", filled(dim, 1.0f));
    if (has_bias) bias = register_parameter("bias", filled(dim, 0.0f));
}

Var LayerNorm::forward(const Var& x) { return layer_norm(x, weight, bias, eps); }

RMSNorm::RMSNorm(int64_t dim, float eps_) : eps(eps_) { weight = register_parameter("weight", filled(dim, 1.0f)); }

Var RMSNorm::forward(const Var& x) { return rms_norm(x, weight, eps); }

}  // namespace tern::nn
