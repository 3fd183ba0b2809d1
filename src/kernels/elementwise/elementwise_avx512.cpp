// avx512 elementwise kernels (compiled with this ISA's flags only).
#include "kernels/elementwise/elementwise.h"
#include "kernels/elementwise/elementwise_simd.inc"

namespace tern {

using Implavx512 = simd::ElementwiseSimd<simd::VecAvx512>;

const ElementwiseKernels kElementwiseAvx512 = {
    "elementwise_f32_avx512", Isa::avx512, Implavx512::rmsnorm, Implavx512::layernorm, Implavx512::softmax,
    Implavx512::silu_mul, Implavx512::gelu, Implavx512::rope, Implavx512::add, Implavx512::axpy, Implavx512::dot,
    Implavx512::sum_sumsq_shifted, Implavx512::sum_dot_centered, Implavx512::attend_block,
    Implavx512::f16_to_f32, Implavx512::f32_to_f16,
};

}  // namespace tern
