// avx2 elementwise kernels (compiled with this ISA's flags only).
#include "kernels/elementwise/elementwise.h"
#include "kernels/elementwise/elementwise_simd.inc"

namespace tern {

using Implavx2 = simd::ElementwiseSimd<simd::VecAvx2>;

const ElementwiseKernels kElementwiseAvx2 = {
    "elementwise_f32_avx2", Isa::avx2, Implavx2::rmsnorm, Implavx2::layernorm, Implavx2::softmax,
    Implavx2::silu_mul, Implavx2::gelu, Implavx2::rope, Implavx2::add, Implavx2::axpy, Implavx2::dot,
    Implavx2::sum_sumsq_shifted, Implavx2::sum_dot_centered, Implavx2::attend_block,
    Implavx2::f16_to_f32, Implavx2::f32_to_f16,
};

}  // namespace tern
