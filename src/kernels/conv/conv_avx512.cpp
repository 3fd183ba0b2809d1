// avx512 conv kernels (compiled with this ISA's flags only).
#include "kernels/conv/conv_simd.inc"

namespace tern {

using ConvImplavx512 = simd::ConvSimd<simd::VecAvx512>;

const ConvKernels kConvAvx512 = {
    .name = "conv_f32_avx512",
    .isa = Isa::avx512,
    .direct_s1 = ConvImplavx512::direct_s1,
    .direct_s1_wgrad = ConvImplavx512::direct_s1_wgrad,
    .dw3x3 = ConvImplavx512::dw3x3,
    .dw_any = ConvImplavx512::dw_any,
    .maxpool_any = ConvImplavx512::maxpool_any,
    .dw3x3_wgrad = ConvImplavx512::dw3x3_wgrad,
    .maxpool2x2 = ConvImplavx512::maxpool2x2,
};

}  // namespace tern
