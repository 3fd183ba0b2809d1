// avx512 pointwise activations (this ISA's flags, -ffp-contract=off: see elementwise.h).
#include "kernels/elementwise/activation_simd.inc"

namespace tern {

void activate_avx512(const ActParams& p, float* y, int64_t n) { simd::ActivationSimd<simd::VecAvx512>::activate(p, y, n); }

}  // namespace tern
