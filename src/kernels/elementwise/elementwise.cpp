#include "kernels/elementwise/elementwise.h"

#include <vector>

namespace tern {

std::span<const ElementwiseKernels* const> elementwise_variants() {
    static const std::vector<const ElementwiseKernels*> variants = [] {
        std::vector<const ElementwiseKernels*> v{&kElementwiseScalar};
        if (isa_supported(Isa::avx2)) v.push_back(&kElementwiseAvx2);
        if (isa_supported(Isa::avx512)) v.push_back(&kElementwiseAvx512);
        return v;
    }();
    return variants;
}

const ElementwiseKernels& elementwise() {
    static const ElementwiseKernels* chosen = [] {
        switch (active_isa()) {
            case Isa::avx512: return &kElementwiseAvx512;
            case Isa::avx2: return &kElementwiseAvx2;
            case Isa::scalar: break;
        }
        return &kElementwiseScalar;
    }();
    return *chosen;
}

}  // namespace tern
