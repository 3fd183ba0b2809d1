// avx2 elementwise kernels (compiled with this ISA's flags only).
#include "kernels/elementwise/elementwise.h"
#include "kernels/elementwise/elementwise_simd.inc"

namespace tern {

using Implavx2 = simd::ElementwiseSimd<simd::VecAvx2>;

const ElementwiseKernels kElementwiseAvx2 = {
    .name = "elementwise_f32_avx2",
    .isa = Isa::avx2,
    .rmsnorm = Implavx2::rmsnorm,
    .layernorm = Implavx2::layernorm,
    .softmax = Implavx2::softmax,
    .silu_mul = Implavx2::silu_mul,
    .gelu = Implavx2::gelu,
    .rope = Implavx2::rope,
    .add = Implavx2::add,
    .axpy = Implavx2::axpy,
    .dot = Implavx2::dot,
    .sum_sumsq_shifted = Implavx2::sum_sumsq_shifted,
    .sum_dot_centered = Implavx2::sum_dot_centered,
    .attend_block = Implavx2::attend_block,
    .f16_to_f32 = Implavx2::f16_to_f32,
    .f32_to_f16 = Implavx2::f32_to_f16,
    .activate = activate_avx2,
};

}  // namespace tern
