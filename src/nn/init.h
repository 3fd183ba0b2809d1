#pragma once
// Seeded weight initialisers (fan-in/fan-out as PyTorch: dim 1 times the
// receptive field is fan-in, dim 0 times it is fan-out).
#include "core/tensor.h"
#include "nn/random.h"

namespace tern::nn::init {

void fan_in_out(const Shape& shape, int64_t& fan_in, int64_t& fan_out);

void uniform(Tensor& t, float lo, float hi, Rng& rng);
void normal(Tensor& t, float mean, float std, Rng& rng);
void constant(Tensor& t, float value);
// He init for layers followed by ReLU-like activations; gain sqrt(2) by default.
void kaiming_uniform(Tensor& t, Rng& rng, float gain = 1.4142135f);  // bound = gain * sqrt(3 / fan_in)
void kaiming_normal(Tensor& t, Rng& rng, float gain = 1.4142135f);   // std = gain / sqrt(fan_in)
// Glorot init for tanh/linear layers.
void xavier_uniform(Tensor& t, Rng& rng, float gain = 1.0f);  // bound = gain * sqrt(6 / (fan_in + fan_out))
void xavier_normal(Tensor& t, Rng& rng, float gain = 1.0f);   // std = gain * sqrt(2 / (fan_in + fan_out))

}  // namespace tern::nn::init
