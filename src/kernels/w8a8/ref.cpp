// The scalar definition of w8a8_matmul (see w8a8_matmul.h), straight from the unpacked codes.
#include <vector>

#include "kernels/w8a8/w8a8_matmul.h"

namespace tern {

void w8a8_matmul_reference(const int8_t* codes, const float* row_scales, float act_scale, const float* x, int64_t m,
                           int64_t n, int64_t k, float* y) {
    std::vector<uint8_t> q(static_cast<size_t>(k));
    const bool dynamic = !(act_scale > 0.0f);
    for (int64_t r = 0; r < m; ++r) {
        float s = 0.0f;
        w8a8_quantize_activation_row(x + r * k, k, act_scale, q.data(), &s);
        for (int64_t j = 0; j < n; ++j) {
            int32_t corr = 0;
            for (int64_t p = 0; p < k; ++p) corr += (int32_t(q[size_t(p)]) - kW8A8ZeroPoint) * codes[j * k + p];
            y[r * n + j] = dynamic ? (static_cast<float>(corr) * (1.0f * row_scales[j])) * s
                                   : static_cast<float>(corr) * (s * row_scales[j]);
        }
    }
}

}  // namespace tern
