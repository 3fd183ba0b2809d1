// ops::Act: kernels/elementwise gelu, gemm_common's scalar definitions else.
#include "ops/activation.h"

#include <algorithm>

#include "kernels/elementwise/elementwise.h"
#include "kernels/gemm_common/activation.h"
#include "ops/parallel.h"

namespace tern::ops {

const char* act_name(ActKind k) {
    switch (k) {
        case ActKind::relu: return "relu";
        case ActKind::relu6: return "relu6";
        case ActKind::gelu_tanh: return "gelu";
        case ActKind::silu: return "silu";
    }
    return "?";
}

void Act::run(const float* x, float* y, int64_t n) const {
    const ElementwiseKernels& ew = elementwise_kernel();
    parallel_items(n, 16, [&](int64_t b, int64_t e) {
        switch (kind_) {
            case ActKind::gelu_tanh: ew.gelu(x + b, y + b, e - b); return;
            case ActKind::relu:
                for (int64_t i = b; i < e; ++i) y[i] = gemm::activate(x[i], Activation::relu);
                return;
            case ActKind::relu6:
                for (int64_t i = b; i < e; ++i) y[i] = std::min(gemm::activate(x[i], Activation::relu), 6.0f);
                return;
            case ActKind::silu:
                for (int64_t i = b; i < e; ++i) y[i] = gemm::activate(x[i], Activation::silu);
                return;
        }
    });
}

}  // namespace tern::ops
