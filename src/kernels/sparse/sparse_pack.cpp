// Packing dense pruned weights into the sparse layouts of sparse.h (the only
// place that validates them), their dense images, and int8 activation rows.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "kernels/sparse/sparse.h"

namespace tern {
namespace {

constexpr int64_t kMaxK = std::numeric_limits<uint16_t>::max();

void check_dense(const char* what, const float* w, int64_t n, int64_t k) {
    if (n < 1 || k < 1) throw InputError(what, format("empty weight %lld x %lld", static_cast<long long>(n),
                                                      static_cast<long long>(k)));
    if (!w) throw InputError(what, "null weights");
    if (k > kMaxK)
        throw InputError(what, format("K = %lld is wider than the 16-bit column index allows (%lld)",
                                      static_cast<long long>(k), static_cast<long long>(kMaxK)));
    for (int64_t i = 0; i < n * k; ++i)
        if (!std::isfinite(w[i]))
            throw InputError(what, format("weight [%lld][%lld] is not finite", static_cast<long long>(i / k),
                                          static_cast<long long>(i % k)));
}

float row_scale(const float* row, int64_t k) {
    float amax = 0;
    for (int64_t c = 0; c < k; ++c) amax = std::max(amax, std::fabs(row[c]));
    return amax > 0 ? amax / 127.0f : 1.0f;
}

int8_t quantize(float v, float inv_scale) {
    return static_cast<int8_t>(std::clamp(std::nearbyint(v * inv_scale), -127.0f, 127.0f));
}

template <class Csr, class Put>
void fill_pattern(const char* what, const float* w, int64_t n, int64_t k, Csr& out, Put&& put) {
    out.n = n, out.k = k;
    out.row_ptr.reserve(static_cast<size_t>(n + 1));
    out.row_ptr.push_back(0);
    const int64_t nnz = std::count_if(w, w + n * k, [](float v) { return v != 0.0f; });
    out.col.reserve(static_cast<size_t>(nnz));
    out.val.reserve(static_cast<size_t>(nnz));
    for (int64_t r = 0; r < n; ++r) {
        for (int64_t c = 0; c < k; ++c)
            if (w[r * k + c] != 0.0f) {
                out.col.push_back(static_cast<uint16_t>(c));
                put(r, c);
            }
        if (out.col.size() > std::numeric_limits<uint32_t>::max())
            throw InputError(what, "more than 2^32 nonzeros");
        out.row_ptr.push_back(static_cast<uint32_t>(out.col.size()));
    }
}

}  // namespace

CsrF32 pack_csr_f32(const float* w, int64_t n, int64_t k) {
    check_dense("pack_csr_f32", w, n, k);
    CsrF32 out;
    fill_pattern("pack_csr_f32", w, n, k, out, [&](int64_t r, int64_t c) { out.val.push_back(w[r * k + c]); });
    return out;
}

CsrS8 pack_csr_s8(const float* w, int64_t n, int64_t k) {
    check_dense("pack_csr_s8", w, n, k);
    CsrS8 out;
    out.scale.reserve(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) out.scale.push_back(row_scale(w + r * k, k));
    fill_pattern("pack_csr_s8", w, n, k, out, [&](int64_t r, int64_t c) {
        out.val.push_back(quantize(w[r * k + c], 1.0f / out.scale[static_cast<size_t>(r)]));
    });
    return out;
}

Sparse24S8 pack_sparse24_s8(const float* w, int64_t n, int64_t k) {
    const char* what = "pack_sparse24_s8";
    check_dense(what, w, n, k);
    if (k % 4 != 0) throw InputError(what, format("K = %lld is not a multiple of 4 (2:4 groups)", static_cast<long long>(k)));
    Sparse24S8 out;
    out.n = n, out.k = k, out.k_pad = (k + Sparse24S8::kPad - 1) / Sparse24S8::kPad * Sparse24S8::kPad;
    const int64_t vals = out.k_pad / 2, pbytes = out.k_pad / 8;
    out.scale.reserve(static_cast<size_t>(n));
    out.row_sum.reserve(static_cast<size_t>(n));
    out.val.assign(static_cast<size_t>(n * vals), 0);
    out.pos.assign(static_cast<size_t>(n * pbytes), 0);
    for (int64_t r = 0; r < n; ++r) {
        const float* row = w + r * k;
        const float s = row_scale(row, k);
        out.scale.push_back(s);
        int32_t sum = 0;
        for (int64_t g = 0; g < out.k_pad / 4; ++g) {
            int p[2] = {0, 1};  // empty slots keep 0 at distinct positions
            int kept = 0;
            for (int j = 0; j < 4 && 4 * g < k; ++j) {
                if (row[4 * g + j] == 0.0f) continue;
                if (kept == 2)
                    throw InputError(what, format("row %lld, columns %lld..%lld: more than 2 nonzeros in a group of 4",
                                                  static_cast<long long>(r), static_cast<long long>(4 * g),
                                                  static_cast<long long>(4 * g + 3)));
                p[kept++] = j;
            }
            for (int j = 0; j < 2; ++j) {
                const int8_t q = 4 * g < k ? quantize(row[4 * g + p[j]], 1.0f / s) : int8_t{0};
                const bool live = j < kept;
                out.val[static_cast<size_t>(r * vals + 2 * g + j)] = live ? q : int8_t{0};
                sum += live ? q : 0;
            }
            const uint8_t nib = static_cast<uint8_t>(p[0] | p[1] << 2);
            out.pos[static_cast<size_t>(r * pbytes + g / 2)] |= static_cast<uint8_t>(g % 2 ? nib << 4 : nib);
        }
        out.row_sum.push_back(sum);
    }
    return out;
}

BitmapS8 pack_bitmap_s8(const float* w, int64_t n, int64_t k) {
    const char* what = "pack_bitmap_s8";
    check_dense(what, w, n, k);
    BitmapS8 out;
    out.n = n, out.k = k, out.k_pad = (k + BitmapS8::kBlock - 1) / BitmapS8::kBlock * BitmapS8::kBlock;
    const int64_t blocks = out.k_pad / BitmapS8::kBlock;
    const int64_t nnz = std::count_if(w, w + n * k, [](float v) { return v != 0.0f; });
    if (nnz > std::numeric_limits<uint32_t>::max() - BitmapS8::kBlock) throw InputError(what, "more than 2^32 nonzeros");
    out.mask.assign(static_cast<size_t>(n * blocks), 0);
    out.val.reserve(static_cast<size_t>(nnz + BitmapS8::kBlock));
    out.row_ptr.reserve(static_cast<size_t>(n + 1));
    out.row_ptr.push_back(0);
    for (int64_t r = 0; r < n; ++r) {
        const float* row = w + r * k;
        const float s = row_scale(row, k);
        int32_t sum = 0;
        for (int64_t c = 0; c < k; ++c) {
            if (row[c] == 0.0f) continue;
            out.mask[static_cast<size_t>(r * blocks + c / 64)] |= uint64_t{1} << (c % 64);
            const int8_t q = quantize(row[c], 1.0f / s);
            out.val.push_back(q);
            sum += q;
        }
        out.scale.push_back(s);
        out.row_sum.push_back(sum);
        out.row_ptr.push_back(static_cast<uint32_t>(out.val.size()));
    }
    out.val.resize(out.val.size() + BitmapS8::kBlock, 0);
    return out;
}

std::vector<float> unpack_dense(const BitmapS8& w) {
    std::vector<float> d(static_cast<size_t>(w.n * w.k), 0.0f);
    const int64_t blocks = w.k_pad / BitmapS8::kBlock;
    for (int64_t r = 0; r < w.n; ++r) {
        uint32_t j = w.row_ptr[static_cast<size_t>(r)];
        for (int64_t c = 0; c < w.k; ++c)
            if (w.mask[static_cast<size_t>(r * blocks + c / 64)] >> (c % 64) & 1)
                d[static_cast<size_t>(r * w.k + c)] = w.scale[static_cast<size_t>(r)] * w.val[j++];
    }
    return d;
}

std::vector<float> unpack_dense(const CsrF32& w) {
    std::vector<float> d(static_cast<size_t>(w.n * w.k), 0.0f);
    for (int64_t r = 0; r < w.n; ++r)
        for (uint32_t j = w.row_ptr[static_cast<size_t>(r)]; j < w.row_ptr[static_cast<size_t>(r) + 1]; ++j)
            d[static_cast<size_t>(r * w.k + w.col[j])] = w.val[j];
    return d;
}

std::vector<float> unpack_dense(const CsrS8& w) {
    std::vector<float> d(static_cast<size_t>(w.n * w.k), 0.0f);
    for (int64_t r = 0; r < w.n; ++r)
        for (uint32_t j = w.row_ptr[static_cast<size_t>(r)]; j < w.row_ptr[static_cast<size_t>(r) + 1]; ++j)
            d[static_cast<size_t>(r * w.k + w.col[j])] = w.scale[static_cast<size_t>(r)] * w.val[j];
    return d;
}

std::vector<float> unpack_dense(const Sparse24S8& w) {
    std::vector<float> d(static_cast<size_t>(w.n * w.k), 0.0f);
    const int64_t vals = w.k_pad / 2, pbytes = w.k_pad / 8;
    for (int64_t r = 0; r < w.n; ++r)
        for (int64_t g = 0; g < w.k / 4; ++g) {
            const uint8_t byte = w.pos[static_cast<size_t>(r * pbytes + g / 2)];
            const int nib = g % 2 ? byte >> 4 : byte & 15;
            for (int j = 0; j < 2; ++j) {
                const int c = j == 0 ? (nib & 3) : (nib >> 2);
                const int8_t v = w.val[static_cast<size_t>(r * vals + 2 * g + j)];
                if (v != 0) d[static_cast<size_t>(r * w.k + 4 * g + c)] = w.scale[static_cast<size_t>(r)] * v;
            }
        }
    return d;
}

void quantize_rows_s8(const float* x, int64_t m, int64_t k, int8_t* q, float* scale) {
    for (int64_t i = 0; i < m; ++i) {
        const float s = row_scale(x + i * k, k);
        scale[i] = s;
        for (int64_t c = 0; c < k; ++c) q[i * k + c] = quantize(x[i * k + c], 1.0f / s);
    }
}

}  // namespace tern
