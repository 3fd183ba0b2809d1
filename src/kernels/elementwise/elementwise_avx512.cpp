// avx512 elementwise kernels (compiled with this ISA's flags only).
#include "kernels/elementwise/elementwise.h"
#include "kernels/elementwise/elementwise_simd.inc"

namespace tern {

using Implavx512 = simd::ElementwiseSimd<simd::VecAvx512>;

const ElementwiseKernels kElementwiseAvx512 = {
    .name = "elementwise_f32_avx512",
    .isa = Isa::avx512,
    .rmsnorm = Implavx512::rmsnorm,
    .layernorm = Implavx512::layernorm,
    .softmax = Implavx512::softmax,
    .silu_mul = Implavx512::silu_mul,
    .gelu = Implavx512::gelu,
    .rope = Implavx512::rope,
    .add = Implavx512::add,
    .axpy = Implavx512::axpy,
    .dot = Implavx512::dot,
    .sum_sumsq_shifted = Implavx512::sum_sumsq_shifted,
    .sum_dot_centered = Implavx512::sum_dot_centered,
    .attend_block = Implavx512::attend_block,
    .f16_to_f32 = Implavx512::f16_to_f32,
    .f32_to_f16 = Implavx512::f32_to_f16,
    .activate = activate_avx512,
};

}  // namespace tern
