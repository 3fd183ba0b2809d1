// Conv (1-D and 2-D; groups, pads, strides, dilations, auto_pad) on
// ops::Conv2d. Asymmetric padding is applied by copying the input into a
// zero-padded plane first, since ops::Conv2d pads symmetrically.
#include <cstring>
#include <memory>

#include "graph/op_registry.h"
#include "graph/op_util.h"
#include "ops/conv2d.h"

namespace tern::graph {

namespace {

// x (N, C, H, W) -> (N, C, H + top + bottom, W + left + right), zeros around.
Tensor pad_planes(const Tensor& x, int64_t top, int64_t left, int64_t bottom, int64_t right) {
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const int64_t PH = H + top + bottom, PW = W + left + right;
    Tensor out = Tensor::zeros({N, C, PH, PW}, DType::f32);
    const float* src = x.data<float>();
    float* dst = out.data<float>();
    for (int64_t p = 0; p < N * C; ++p) {
        for (int64_t h = 0; h < H; ++h) {
            std::memcpy(dst + (p * PH + h + top) * PW + left, src + (p * H + h) * W, static_cast<size_t>(W) * 4);
        }
    }
    return out;
}

void run_conv(OpContext& c) {
    const Node& n = c.node;
    Tensor x = c.input(0).contiguous();
    Tensor w = c.input(1).contiguous();
    require_f32(n, x, "input");
    require_f32(n, w, "weight");
    if (x.rank() != 3 && x.rank() != 4) {
        throw n.error("input has " + std::to_string(x.rank()) + " dims; tern's Conv runs 3 (N, C, L) or 4 (N, C, H, W)");
    }
    if (w.rank() != x.rank()) {
        throw n.error(format("weight has %d dims, Conv needs %d", w.rank(), x.rank()));
    }
    const bool one_d = x.rank() == 3;
    if (one_d) {
        x = x.reshape({x.dim(0), x.dim(1), 1, x.dim(2)});
        w = w.reshape({w.dim(0), w.dim(1), 1, w.dim(2)});
    }
    const size_t sr = one_d ? 1 : 2;
    const int64_t O = w.dim(0), KH = w.dim(2), KW = w.dim(3);
    std::vector<int64_t> kernel = n.attr_ints("kernel_shape", {});
    if (!kernel.empty()) {
        const std::vector<int64_t> have = one_d ? std::vector<int64_t>{KW} : std::vector<int64_t>{KH, KW};
        if (kernel != have) throw n.error("kernel_shape disagrees with the weight's shape " + shape_to_string(w.shape()));
    }
    std::vector<int64_t> strides = attr_ints_sized(n, "strides", sr, 1);
    std::vector<int64_t> dil = attr_ints_sized(n, "dilations", sr, 1);
    if (one_d) {
        strides.insert(strides.begin(), 1);
        dil.insert(dil.begin(), 1);
    }
    for (size_t i = 0; i < 2; ++i) {
        if (strides[i] < 1 || dil[i] < 1) throw n.error("strides and dilations must be >= 1");
    }
    const std::vector<int64_t> ext{(KH - 1) * dil[0] + 1, (KW - 1) * dil[1] + 1};
    Shape spatial{x.dim(2), x.dim(3)};
    SpatialPads p;
    if (one_d) {
        SpatialPads p1 = spatial_pads(n, {x.dim(3)}, {ext[1]}, {strides[1]});
        p = {{0, p1.begin[0]}, {0, p1.end[0]}};
    } else {
        p = spatial_pads(n, spatial, ext, strides);
    }
    ops::Conv2dParams cp;
    cp.stride_h = strides[0], cp.stride_w = strides[1];
    cp.dilation_h = dil[0], cp.dilation_w = dil[1];
    cp.groups = n.attr_int("group", 1);
    if (p.begin == p.end) {
        cp.pad_h = p.begin[0], cp.pad_w = p.begin[1];
    } else {
        x = pad_planes(x, p.begin[0], p.begin[1], p.end[0], p.end[1]);
    }
    const float* bias = nullptr;
    Tensor b;
    if (c.has_input(2)) {
        b = c.input(2).contiguous();
        require_f32(n, b, "bias");
        if (b.rank() != 1 || b.dim(0) != O) {
            throw n.error("bias has shape " + shape_to_string(b.shape()) + ", Conv needs (" + std::to_string(O) + ")");
        }
        bias = b.data<float>();
    }
    std::unique_ptr<ops::Conv2d> conv;
    try {
        conv = std::make_unique<ops::Conv2d>(x.dim(1), x.dim(2), x.dim(3), O, KH, KW, cp, w.data<float>(), bias,
                                             ops::Conv2d::Weights::borrow);
    } catch (const InputError& e) {
        throw n.error(e.detail());
    }
    const int64_t N = x.dim(0);
    Tensor y = Tensor::empty({N, O, conv->out_h(), conv->out_w()}, DType::f32);
    std::vector<float> scratch(static_cast<size_t>(conv->scratch_floats(N)));
    if (N > 0) conv->run(x.data<float>(), y.data<float>(), N, scratch.data());
    c.out[0] = one_d ? y.reshape({N, O, conv->out_w()}) : y;
}

}  // namespace

std::vector<OpEntry> conv_ops() { return {{"Conv", run_conv}}; }

}  // namespace tern::graph
