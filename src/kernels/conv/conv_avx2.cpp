// avx2 conv kernels (compiled with this ISA's flags only).
#include "kernels/conv/conv_simd.inc"

namespace tern {

using ConvImplavx2 = simd::ConvSimd<simd::VecAvx2>;

const ConvKernels kConvAvx2 = {
    .name = "conv_f32_avx2",
    .isa = Isa::avx2,
    .direct_s1 = ConvImplavx2::direct_s1,
    .direct_s1_wgrad = ConvImplavx2::direct_s1_wgrad,
    .dw3x3 = ConvImplavx2::dw3x3,
    .dw_any = ConvImplavx2::dw_any,
    .maxpool_any = ConvImplavx2::maxpool_any,
    .dw3x3_wgrad = ConvImplavx2::dw3x3_wgrad,
    .maxpool2x2 = ConvImplavx2::maxpool2x2,
};

}  // namespace tern
