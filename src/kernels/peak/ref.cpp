#include "kernels/peak/peak.h"

namespace tern {
namespace {

double fma_f32_scalar(int64_t iterations, float* sink) {
    float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float m = 0.999999f, c = 1e-7f;
    for (int64_t i = 0; i < iterations; ++i)
        for (float& v : a) v = v * m + c;
    float s = 0;
    for (float v : a) s += v;
    *sink = s;
    return 2.0 * 8 * static_cast<double>(iterations);
}

}  // namespace

const PeakKernels kPeakScalar = {
    .name = "peak_scalar",
    .isa = Isa::scalar,
    .fma_f32 = fma_f32_scalar,
    .dot_bf16 = nullptr,
    .dot_u8s8 = nullptr,
};

}  // namespace tern
