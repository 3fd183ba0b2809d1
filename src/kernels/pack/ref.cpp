// Scalar reference: one 4-byte unit at a time, contiguous writes.
#include <cstring>

#include "kernels/pack/pack.h"

namespace tern {
namespace {

void rows_u32_scalar(const uint8_t* src, int64_t ld, int live, int64_t units, int mr, uint8_t* out) {
    for (int64_t g = 0; g < units; ++g) {
        if (g % 16 == 0) pack_detail::prefetch_rows(src + 4 * g, ld, live);
        uint8_t* o = out + g * mr * 4;
        for (int r = 0; r < live; ++r) std::memcpy(o + r * 4, src + r * ld + 4 * g, 4);
    }
}

}  // namespace

const PackKernels kPackScalar = {
    .name = "pack_scalar",
    .isa = Isa::scalar,
    .rows_u32 = rows_u32_scalar,
};

}  // namespace tern
