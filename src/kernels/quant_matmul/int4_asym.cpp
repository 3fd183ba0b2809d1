#include "kernels/quant_matmul/int4_asym.h"

#include <algorithm>
#include <cmath>

#include "core/half.h"

namespace tern {

void quantize_row_int4_asym(const float* x, uint8_t* blocks, int64_t k, int group) {
    const int bytes = int4_asym_block_bytes(group);
    for (int64_t b = 0; b < k / group; ++b) {
        const float* xb = x + b * group;
        uint8_t* out = blocks + b * bytes;
        double lo = 0, hi = 0;
        for (int i = 0; i < group; ++i) {
            lo = std::min<double>(lo, xb[i]);
            hi = std::max<double>(hi, xb[i]);
        }
        const uint16_t dh = fp32_to_fp16(static_cast<float>(std::min((hi - lo) / 15.0, 65504.0)));
        const double d = fp16_to_fp32(dh);
        const double inv = d > 0 ? 1.0 / d : 0.0;
        const int z = static_cast<int>(std::clamp(std::nearbyint(-lo * inv), 0.0, 15.0));
        out[0] = static_cast<uint8_t>(dh & 0xff);
        out[1] = static_cast<uint8_t>(dh >> 8);
        out[2] = static_cast<uint8_t>(z);
        for (int i = 0; i < group / 2; ++i) out[3 + i] = 0;
        for (int i = 0; i < group; ++i) {
            const double t = std::nearbyint(static_cast<double>(xb[i]) * inv);
            const int q = std::isnan(t) ? z : static_cast<int>(std::clamp(t + z, 0.0, 15.0));
            out[3 + i / 2] |= static_cast<uint8_t>(q << (4 * (i & 1)));
        }
    }
}

void dequantize_row_int4_asym(const uint8_t* blocks, float* y, int64_t k, int group) {
    const int bytes = int4_asym_block_bytes(group);
    for (int64_t b = 0; b < k / group; ++b) {
        const uint8_t* in = blocks + b * bytes;
        const float d = fp16_to_fp32(static_cast<uint16_t>(in[0] | (in[1] << 8)));
        const int z = in[2];
        for (int i = 0; i < group; ++i) {
            const int q = (in[3 + i / 2] >> (4 * (i & 1))) & 15;
            y[b * group + i] = static_cast<float>(q - z) * d;
        }
    }
}

}  // namespace tern
