// W8A8 storage codec: per-row absmax scale, round half to even, NaN -> 0,
// infinities saturate (as int_formats.cpp does).
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "formats/minifloat.h"
#include "formats/w8a8_block.h"

namespace tern {

Int8RowScale int8_row_scale(const float* x, int64_t n) {
    double amax = 0;
    for (int64_t i = 0; i < n; ++i)
        if (std::isfinite(x[i]) && std::fabs(x[i]) > amax) amax = std::fabs(x[i]);
    Int8RowScale s;
    s.d = static_cast<float>(amax / kW8A8Qmax);
    s.inv_d = s.d > 0 ? 1.0 / s.d : 0.0;
    return s;
}

int8_t int8_code_of(float v, double inv_d) {
    double t = std::isinf(v) ? (v > 0 ? kW8A8Qmax : -kW8A8Qmax) : round_half_even(double(v) * inv_d);
    if (std::isnan(t)) t = 0;
    return static_cast<int8_t>(t < -kW8A8Qmax ? -kW8A8Qmax : (t > kW8A8Qmax ? kW8A8Qmax : t));
}

void w8a8_quantize_row(const float* x, uint8_t* out, int64_t n, float act_scale) {
    const Int8RowScale s = int8_row_scale(x, n);
    for (int64_t k = 0; k < n / kW8A8Group; ++k) {
        W8A8Block b{};
        b.d = s.d;
        b.act_scale = act_scale;
        for (int i = 0; i < kW8A8Group; ++i) b.qs[i] = int8_code_of(x[k * kW8A8Group + i], s.inv_d);
        std::memcpy(out + k * sizeof(W8A8Block), &b, sizeof(W8A8Block));
    }
}

W8A8Unpacked unpack_w8a8(const uint8_t* blocks, int64_t n, int64_t k, const std::string& name) {
    if (k % kW8A8Group != 0) throw InputError(name, format("w8a8 rows need a multiple of 128 columns, got %lld", (long long)k));
    W8A8Unpacked u;
    u.codes.resize(static_cast<size_t>(n * k));
    u.row_scales.resize(static_cast<size_t>(n));
    const int64_t per_row = k / kW8A8Group;
    for (int64_t r = 0; r < n; ++r) {
        for (int64_t c = 0; c < per_row; ++c) {
            W8A8Block b;
            std::memcpy(&b, blocks + (r * per_row + c) * sizeof(W8A8Block), sizeof(W8A8Block));
            if (!std::isfinite(b.d) || b.d < 0 || !std::isfinite(b.act_scale) || b.act_scale < 0)
                throw InputError(name, format("w8a8 row %lld has a negative or non-finite scale", (long long)r));
            if (c == 0) u.row_scales[size_t(r)] = b.d;
            else if (b.d != u.row_scales[size_t(r)])
                throw InputError(name, format("w8a8 row %lld has different scales in its blocks (one scale per row)", (long long)r));
            if (r == 0 && c == 0) u.act_scale = b.act_scale;
            else if (b.act_scale != u.act_scale)
                throw InputError(name, format("w8a8 row %lld has a different activation scale (one per tensor)", (long long)r));
            std::memcpy(u.codes.data() + r * k + c * kW8A8Group, b.qs, kW8A8Group);
        }
    }
    return u;
}

namespace {

void quantize_dynamic(const float* x, uint8_t* out, int64_t n) { w8a8_quantize_row(x, out, n, 0.0f); }

void dequantize(const uint8_t* in, float* y, int64_t n) {
    for (int64_t k = 0; k < n / kW8A8Group; ++k) {
        W8A8Block b;
        std::memcpy(&b, in + k * sizeof(W8A8Block), sizeof(W8A8Block));
        for (int i = 0; i < kW8A8Group; ++i) y[k * kW8A8Group + i] = static_cast<float>(b.qs[i]) * b.d;
    }
}

const FormatDescriptor kW8A8Formats[] = {
    {"w8a8", "tern",
     "tern storage: int8 weights, one f32 scale per row, int8 activations (per-token or static scale) at run time",
     kW8A8Group, sizeof(W8A8Block), quantize_dynamic, dequantize, DType::w8a8},
};

}  // namespace

std::span<const FormatDescriptor> w8a8_formats() { return kW8A8Formats; }

}  // namespace tern
