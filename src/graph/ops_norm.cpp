// BatchNormalization in inference mode (running statistics), float32.
#include <cmath>

#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

void run_batch_norm(OpContext& c) {
    const Node& n = c.node;
    if (n.attr_int("training_mode", 0) != 0) throw n.error("training_mode=1 is not supported (inference only)");
    const Tensor x = c.input(0).contiguous();
    require_f32(n, x, "input");
    if (x.rank() < 2) throw n.error("input has " + std::to_string(x.rank()) + " dims; BatchNormalization needs >= 2");
    const int64_t C = x.dim(1);
    const char* names[] = {"scale", "B", "mean", "var"};
    Tensor p[4];
    for (int i = 0; i < 4; ++i) {
        p[i] = c.input(1 + i).contiguous();
        require_f32(n, p[i], names[i]);
        if (p[i].rank() != 1 || p[i].dim(0) != C) {
            throw n.error(std::string(names[i]) + " has shape " + shape_to_string(p[i].shape()) +
                          ", the input has " + std::to_string(C) + " channels");
        }
    }
    const float eps = n.attr_float("epsilon", 1e-5f);
    const int64_t N = x.dim(0), len = N * C != 0 ? x.numel() / (N * C) : 0;
    Tensor y = Tensor::empty(x.shape(), DType::f32);
    for (int64_t ch = 0; ch < C; ++ch) {
        const float a = p[0].data<float>()[ch] / std::sqrt(p[3].data<float>()[ch] + eps);
        const float b = p[1].data<float>()[ch] - a * p[2].data<float>()[ch];
        for (int64_t b_i = 0; b_i < N; ++b_i) {
            const float* src = x.data<float>() + (b_i * C + ch) * len;
            float* dst = y.data<float>() + (b_i * C + ch) * len;
            for (int64_t i = 0; i < len; ++i) dst[i] = a * src[i] + b;
        }
    }
    c.out[0] = std::move(y);
}

}  // namespace

std::vector<OpEntry> norm_ops() { return {{"BatchNormalization", run_batch_norm}}; }

}  // namespace tern::graph
