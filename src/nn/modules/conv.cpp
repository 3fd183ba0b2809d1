#include "nn/modules/conv.h"

#include <cmath>

#include "core/error.h"
#include "nn/init.h"
#include "nn/modules/fake_quant.h"

namespace tern::nn {

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, const Conv2dOptions& opt, uint64_t seed) {
    if (opt.groups < 1 || in_channels % opt.groups || out_channels % opt.groups)
        throw Error("Conv2d", "channels must divide by groups");
    params.stride_h = params.stride_w = opt.stride;
    params.pad_h = params.pad_w = opt.padding;
    params.dilation_h = params.dilation_w = opt.dilation;
    params.groups = opt.groups;
    Rng rng(seed);
    Tensor w = Tensor::empty({out_channels, in_channels / opt.groups, opt.kernel, opt.kernel});
    init::kaiming_uniform(w, rng, 1.0f / std::sqrt(3.0f));
    weight = register_parameter("weight", w);
    if (opt.bias) {
        const float bound = 1.0f / std::sqrt(static_cast<float>(in_channels / opt.groups * opt.kernel * opt.kernel));
        Tensor b = Tensor::empty({out_channels});
        init::uniform(b, -bound, bound, rng);
        bias = register_parameter("bias", b);
    }
}

Var Conv2d::forward(const Var& x) {
    if (fake_quant) {
        if (auto y = fake_quant->conv(x, weight, bias, params)) return *y;  // a BatchNorm folded in (QAT fold_bn)
        return conv2d(fake_quant->input(x), fake_quant->weight(weight), bias, params);
    }
    return conv2d(x, weight, bias, params);
}

void Conv2d::attach_fake_quant(std::shared_ptr<LayerFakeQuant> q) {
    if (fake_quant) throw Error("Conv2d", "already has a fake quantizer");
    fake_quant = register_module("qat", std::move(q));
}

DepthwiseConv2d::DepthwiseConv2d(int64_t channels, int64_t kernel, int64_t stride, int64_t padding, bool has_bias,
                                 uint64_t seed, int64_t dilation)
    : Conv2d(channels, channels, Conv2dOptions{kernel, stride, padding, dilation, channels, has_bias}, seed) {}

}  // namespace tern::nn
