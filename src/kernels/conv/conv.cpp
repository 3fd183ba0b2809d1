#include "kernels/conv/conv.h"

#include <vector>

namespace tern {

std::span<const ConvKernels* const> conv_kernel_variants() {
    static const std::vector<const ConvKernels*> variants = [] {
        std::vector<const ConvKernels*> v{&kConvScalar};
        if (isa_supported(Isa::avx2)) v.push_back(&kConvAvx2);
        if (isa_supported(Isa::avx512)) v.push_back(&kConvAvx512);
        return v;
    }();
    return variants;
}

const ConvKernels& conv_kernels() {
    static const ConvKernels* chosen = [] {
        switch (active_isa()) {
            case Isa::avx512: return &kConvAvx512;
            case Isa::avx2: return &kConvAvx2;
            case Isa::scalar: break;
        }
        return &kConvScalar;
    }();
    return *chosen;
}

}  // namespace tern
