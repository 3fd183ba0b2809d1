#pragma once
// ops::Act: element-wise activations for inference graphs (relu, relu6,
// gelu (tanh form), silu). gelu runs kernels/elementwise's vector kernel;
// the others the scalar definitions of kernels/gemm_common/activation.h that
// the GEMM epilogues use, so a fused and an unfused activation agree.
#include <cstdint>

namespace tern::ops {

enum class ActKind { relu, relu6, gelu_tanh, silu };
const char* act_name(ActKind k);

class Act {
public:
    explicit Act(ActKind kind) : kind_(kind) {}
    // y = act(x), n values; y may be x. Threads large arrays on the default pool.
    void run(const float* x, float* y, int64_t n) const;
    ActKind kind() const { return kind_; }

private:
    ActKind kind_;
};

}  // namespace tern::ops
