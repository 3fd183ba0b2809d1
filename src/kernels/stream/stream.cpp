#include "kernels/stream/stream.h"

#include <vector>

namespace tern {

std::span<const StreamKernels* const> stream_variants() {
    static const std::vector<const StreamKernels*> v = [] {
        std::vector<const StreamKernels*> out{&kStreamScalar};
        if (isa_supported(Isa::avx2)) out.push_back(&kStreamAvx2);
        if (isa_supported(Isa::avx512)) out.push_back(&kStreamAvx512);
        return out;
    }();
    return v;
}

const StreamKernels& stream_kernels() {
    switch (active_isa()) {
        case Isa::avx512: return kStreamAvx512;
        case Isa::avx2: return kStreamAvx2;
        case Isa::scalar: break;
    }
    return kStreamScalar;
}

}  // namespace tern
