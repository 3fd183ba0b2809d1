#include "kernels/stream/stream.h"

namespace tern {
namespace {

float read_sum_ref(const float* p, int64_t n) {
    float acc[8] = {};
    for (int64_t i = 0; i < n; i += 8)
        for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
    float s = 0;
    for (float a : acc) s += a;
    return s;
}

}  // namespace

const StreamKernels kStreamScalar = {
    .name = "stream_read_f32_scalar",
    .isa = Isa::scalar,
    .read_sum = read_sum_ref,
};

}  // namespace tern
