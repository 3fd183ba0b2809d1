#include "nn/init.h"

#include <cmath>

#include "core/error.h"

namespace tern::nn::init {

void fan_in_out(const Shape& shape, int64_t& fan_in, int64_t& fan_out) {
    if (shape.size() < 2) throw Error("init", "fan-in needs a tensor of rank >= 2, got " + shape_to_string(shape));
    int64_t receptive = 1;
    for (size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
    fan_in = shape[1] * receptive;
    fan_out = shape[0] * receptive;
}

void uniform(Tensor& t, float lo, float hi, Rng& rng) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = rng.uniform(lo, hi);
}

void normal(Tensor& t, float mean, float std, Rng& rng) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = mean + std * rng.normal();
}

void constant(Tensor& t, float value) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = value;
}

void kaiming_uniform(Tensor& t, Rng& rng, float gain) {
    int64_t fi, fo;
    fan_in_out(t.shape(), fi, fo);
    const float bound = gain * std::sqrt(3.0f / static_cast<float>(fi));
    uniform(t, -bound, bound, rng);
}

void kaiming_normal(Tensor& t, Rng& rng, float gain) {
    int64_t fi, fo;
    fan_in_out(t.shape(), fi, fo);
    normal(t, 0.0f, gain / std::sqrt(static_cast<float>(fi)), rng);
}

void xavier_uniform(Tensor& t, Rng& rng, float gain) {
    int64_t fi, fo;
    fan_in_out(t.shape(), fi, fo);
    const float bound = gain * std::sqrt(6.0f / static_cast<float>(fi + fo));
    uniform(t, -bound, bound, rng);
}

void xavier_normal(Tensor& t, Rng& rng, float gain) {
    int64_t fi, fo;
    fan_in_out(t.shape(), fi, fo);
    normal(t, 0.0f, gain * std::sqrt(2.0f / static_cast<float>(fi + fo)), rng);
}

}  // namespace tern::nn::init
