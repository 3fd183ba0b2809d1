// sparse24_q8 storage codec and its validating unpacker (formats/sparse24_block.h).
// Rounding is w8a8's (formats/w8a8_block.h: int8_row_scale, int8_code_of), so
// the kept codes equal w8a8's.
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "formats/sparse24_block.h"
#include "formats/w8a8_block.h"

namespace tern {
namespace {

// NaN counts as 0 (it quantizes to 0), infinities as the largest.
double s24_magnitude(float v) { return std::isnan(v) ? 0.0 : std::fabs(double(v)); }

// The 2 positions group `g` keeps, ascending: its nonzeros by magnitude, then
// the lowest free positions (their codes are 0).
void s24_kept_positions(const float* g, int p[2]) {
    int a = -1, b = -1;  // the largest and second largest nonzero
    for (int j = 0; j < 4; ++j) {
        if (s24_magnitude(g[j]) == 0) continue;
        if (a < 0 || s24_magnitude(g[j]) > s24_magnitude(g[a])) b = a, a = j;
        else if (b < 0 || s24_magnitude(g[j]) > s24_magnitude(g[b])) b = j;
    }
    for (int j = 0; j < 4 && (a < 0 || b < 0); ++j)
        if (j != a && j != b) (a < 0 ? a : b) = j;
    p[0] = a < b ? a : b;
    p[1] = a < b ? b : a;
}

void dequantize(const uint8_t* in, float* y, int64_t n) {
    for (int64_t k = 0; k < n / kSparse24Group; ++k) {
        Sparse24Block b;
        std::memcpy(&b, in + k * sizeof(Sparse24Block), sizeof(Sparse24Block));
        float* out = y + k * kSparse24Group;
        for (int i = 0; i < kSparse24Group; ++i) out[i] = 0.0f;
        for (int g = 0; g < kSparse24Group / 4; ++g) {
            const int nib = (b.pos[g / 2] >> (g % 2 ? 4 : 0)) & 0xF;
            out[4 * g + (nib & 3)] = static_cast<float>(b.qs[2 * g]) * b.d;
            out[4 * g + (nib >> 2)] = static_cast<float>(b.qs[2 * g + 1]) * b.d;
        }
    }
}

const FormatDescriptor kSparse24Formats[] = {
    {"sparse24_q8", "tern",
     "tern storage: 2:4 sparse int8 (2 kept weights of every 4 + 2-bit positions), one f32 scale per row; "
     "tern-only, for 2:4-pruned Linears",
     kSparse24Group, sizeof(Sparse24Block), sparse24_quantize_row, dequantize, DType::sparse24_q8},
};

}  // namespace

bool row_is_2of4_sparse(const float* x, int64_t n) {
    for (int64_t g = 0; g + 4 <= n; g += 4) {
        int nz = 0;
        for (int j = 0; j < 4; ++j) nz += x[g + j] != 0.0f;
        if (nz > 2) return false;
    }
    return true;
}

void sparse24_quantize_row(const float* x, uint8_t* out, int64_t n) {
    const Int8RowScale s = int8_row_scale(x, n);
    for (int64_t k = 0; k < n / kSparse24Group; ++k) {
        Sparse24Block b{};
        b.d = s.d;
        const float* blk = x + k * kSparse24Group;
        for (int g = 0; g < kSparse24Group / 4; ++g) {
            int p[2];
            s24_kept_positions(blk + 4 * g, p);
            b.qs[2 * g] = int8_code_of(blk[4 * g + p[0]], s.inv_d);
            b.qs[2 * g + 1] = int8_code_of(blk[4 * g + p[1]], s.inv_d);
            const uint8_t nib = static_cast<uint8_t>(p[0] | p[1] << 2);
            b.pos[g / 2] |= static_cast<uint8_t>(g % 2 ? nib << 4 : nib);
        }
        std::memcpy(out + k * sizeof(Sparse24Block), &b, sizeof(Sparse24Block));
    }
}

Sparse24Unpacked unpack_sparse24(const uint8_t* blocks, int64_t n, int64_t k, const std::string& name) {
    if (n < 0 || k <= 0 || k % kSparse24Group != 0)
        throw InputError(name, format("sparse24_q8 rows need a positive multiple of 128 columns, got %lld", (long long)k));
    Sparse24Unpacked u;
    const int64_t per_row = k / kSparse24Group;
    u.codes.resize(static_cast<size_t>(n * (k / 2)));
    u.pos.resize(static_cast<size_t>(n * (k / 8)));
    u.row_scales.resize(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) {
        for (int64_t c = 0; c < per_row; ++c) {
            Sparse24Block b;
            std::memcpy(&b, blocks + (r * per_row + c) * sizeof(Sparse24Block), sizeof(Sparse24Block));
            if (!std::isfinite(b.d) || b.d < 0)
                throw InputError(name, format("sparse24_q8 row %lld has a negative or non-finite scale", (long long)r));
            if (c == 0) u.row_scales[size_t(r)] = b.d;
            else if (b.d != u.row_scales[size_t(r)])
                throw InputError(name, format("sparse24_q8 row %lld has different scales in its blocks (one scale per row)",
                                              (long long)r));
            for (int g = 0; g < kSparse24Group / 4; ++g) {
                const int nib = (b.pos[g / 2] >> (g % 2 ? 4 : 0)) & 0xF;
                if ((nib & 3) >= (nib >> 2))
                    throw InputError(name, format("sparse24_q8 row %lld, columns %lld..%lld: kept positions %d, %d are not "
                                                  "two ascending positions in 0..3",
                                                  (long long)r, (long long)(c * kSparse24Group + 4 * g),
                                                  (long long)(c * kSparse24Group + 4 * g + 3), nib & 3, nib >> 2));
            }
            for (int i = 0; i < kSparse24Group / 2; ++i)
                if (b.qs[i] == -128)
                    throw InputError(name, format("sparse24_q8 row %lld holds the code -128 (codes are in [-127, 127])",
                                                  (long long)r));
            std::memcpy(u.codes.data() + r * (k / 2) + c * (kSparse24Group / 2), b.qs, sizeof(b.qs));
            std::memcpy(u.pos.data() + r * (k / 8) + c * (kSparse24Group / 8), b.pos, sizeof(b.pos));
        }
    }
    return u;
}

std::vector<int8_t> sparse24_dense_codes(const Sparse24Unpacked& u, int64_t n, int64_t k) {
    std::vector<int8_t> dense(static_cast<size_t>(n * k), 0);
    for (int64_t r = 0; r < n; ++r)
        for (int64_t g = 0; g < k / 4; ++g) {
            const int nib = (u.pos[size_t(r * (k / 8) + g / 2)] >> (g % 2 ? 4 : 0)) & 0xF;
            int8_t* out = dense.data() + r * k + 4 * g;
            out[nib & 3] = u.codes[size_t(r * (k / 2) + 2 * g)];
            out[nib >> 2] = u.codes[size_t(r * (k / 2) + 2 * g + 1)];
        }
    return dense;
}

std::span<const FormatDescriptor> sparse24_formats() { return kSparse24Formats; }

}  // namespace tern
