// Scalar truth and the scalar variant. The references dequantize rows with the
// formats reference and take the dot product in fp64; the scalar variant reads
// the packed tiles one code at a time with the same integer arithmetic as the
// SIMD kernels, so it also pins down the packed layout.
#include <cmath>
#include <vector>

#include "core/half.h"
#include "formats/gguf_blocks.h"
#include "kernels/quant_matmul/int4_asym.h"
#include "kernels/quant_matmul/layout.h"
#include "kernels/quant_matmul/quant_matmul.h"

namespace tern {

using namespace qmm;

namespace {

void dequantize_source_row(QuantType t, int group, const uint8_t* row, float* y, int64_t k) {
    switch (t) {
        case QuantType::q4_0: dequantize_row_q4_0(reinterpret_cast<const BlockQ4_0*>(row), y, k); return;
        case QuantType::q4_1: dequantize_row_q4_1(reinterpret_cast<const BlockQ4_1*>(row), y, k); return;
        case QuantType::q5_0: dequantize_row_q5_0(reinterpret_cast<const BlockQ5_0*>(row), y, k); return;
        case QuantType::q5_1: dequantize_row_q5_1(reinterpret_cast<const BlockQ5_1*>(row), y, k); return;
        case QuantType::q8_0: dequantize_row_q8_0(reinterpret_cast<const BlockQ8_0*>(row), y, k); return;
        case QuantType::q2_k: dequantize_row_q2_K(reinterpret_cast<const BlockQ2_K*>(row), y, k); return;
        case QuantType::q3_k: dequantize_row_q3_K(reinterpret_cast<const BlockQ3_K*>(row), y, k); return;
        case QuantType::q4_k: dequantize_row_q4_K(reinterpret_cast<const BlockQ4_K*>(row), y, k); return;
        case QuantType::q5_k: dequantize_row_q5_K(reinterpret_cast<const BlockQ5_K*>(row), y, k); return;
        case QuantType::q6_k: dequantize_row_q6_K(reinterpret_cast<const BlockQ6_K*>(row), y, k); return;
        case QuantType::int4_asym: dequantize_row_int4_asym(row, y, k, group); return;
        case QuantType::count_: return;
    }
}

template <class XAt>
void reference_impl(QuantType type, int group, const void* blocks, int64_t n, int64_t k, int64_t m, XAt x_at,
                    double* y) {
    const int be = quant_block_elems(type, group);
    const int64_t row_bytes = (k / be) * quant_block_bytes(type, group);
    std::vector<float> w(static_cast<size_t>(k));
    for (int64_t j = 0; j < n; ++j) {
        dequantize_source_row(type, group, static_cast<const uint8_t*>(blocks) + j * row_bytes, w.data(), k);
        for (int64_t r = 0; r < m; ++r) {
            double s = 0;
            for (int64_t i = 0; i < k; ++i) s += static_cast<double>(w[static_cast<size_t>(i)]) * x_at(r, i);
            y[r * n + j] = s;
        }
    }
}

// ---- activation quantization: the definition every variant reproduces bit for bit

void quantize_acts_scalar(const float* x, QuantActs& a) {
    const int64_t nb = a.k / a.block;
    for (int64_t r = 0; r < a.m; ++r) {
        for (int64_t b = 0; b < nb; ++b) {
            const float* xb = x + r * a.k + b * a.block;
            int8_t* q = a.q + r * a.k + b * a.block;
            float amax = 0;
            for (int i = 0; i < a.block; ++i) amax = std::fmax(amax, std::fabs(xb[i]));
            const float d = amax / 127.0f;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            // Q8_0 blocks (32) store their scale as fp16, exactly as llama.cpp's
            // activation blocks do; Q8_K (256) keeps f32. Codes use the f32 scale.
            a.d[r * nb + b] = a.block == 32 ? fp16_to_fp32(fp32_to_fp16(d)) : d;
            for (int i = 0; i < a.block; ++i) q[i] = static_cast<int8_t>(nearest_int_rne(xb[i] * id));
        }
        if (a.block == 32) {
            for (int64_t b = 0; b < nb; ++b) {
                int s = 0;
                for (int i = 0; i < 32; ++i) s += a.q[r * a.k + b * 32 + i];
                a.sum32[r * nb + b] = s;
                a.dsum32[r * nb + b] = a.d[r * nb + b] * static_cast<float>(s);
            }
        } else {
            for (int64_t i = 0; i < a.k; ++i) a.qu[r * a.k + i] = static_cast<uint8_t>(a.q[r * a.k + i] + 128);
            for (int64_t b = 0; b < a.k / 16; ++b) {
                int s = 0;
                for (int i = 0; i < 16; ++i) s += a.q[r * a.k + b * 16 + i];
                a.sum16[r * (a.k / 16) + b] = static_cast<int16_t>(s);
            }
        }
    }
}

// ---- scalar kernels on the packed layout

struct TileReader {
    Layout l;
    const uint8_t* unit;  // current unit of the tile
    int n;                // row in tile
    int hdr;              // header bytes before chunk 0

    int code(int e) const {
        return code_at(l, unit + hdr + (e / 32) * chunk_bytes(l), n, e % 32);
    }
    float d() const { return fp16_to_fp32(static_cast<uint16_t>(unit[2 * n] | (unit[2 * n + 1] << 8))); }
    float second_f16() const {  // m (q4_1/q5_1) or Dmin (K asym)
        return fp16_to_fp32(static_cast<uint16_t>(unit[32 + 2 * n] | (unit[32 + 2 * n + 1] << 8)));
    }
    int zero() const { return unit[32 + n]; }
    int scale(int s) const { return k_scale(l, unit, n, s); }
    int min(int s) const { return k_min(l, unit, n, s); }
};

void matmul_q8_scalar(const QuantMatrix& w, const QuantActs& a, float* y, int64_t t0, int64_t t1) {
    const Layout l = layout_of(w.type);
    const bool kq = is_k(l.corr);
    const int elems = kq ? 256 : w.group;
    const int64_t ub = unit_bytes(l, w.group);
    const int64_t units = w.k / elems;
    const int nsub = kq ? 256 / l.sub : 0;
    for (int64_t t = t0; t < t1; ++t) {
        for (int n = 0; n < kQuantTileRows; ++n) {
            const int64_t col = t * kQuantTileRows + n;
            if (col >= w.n) break;
            for (int64_t r = 0; r < a.m; ++r) {
                const int8_t* q = a.q + r * a.k;
                float acc = 0;
                for (int64_t b = 0; b < units; ++b) {
                    TileReader rd{l, w.tile(t) + b * ub, n, header_bytes(l)};
                    const int64_t e0 = b * elems;
                    if (!kq) {
                        const float d = rd.d();
                        for (int c = 0; c < elems / 32; ++c) {
                            const int64_t blk = (e0 + c * 32) / 32;
                            int isum = 0;
                            for (int i = 0; i < 32; ++i) isum += rd.code(c * 32 + i) * q[e0 + c * 32 + i];
                            const int s = a.sum32[r * (a.k / 32) + blk];
                            const float da = a.d[r * (a.k / 32) + blk];
                            if (l.corr == Corr::offset) acc += static_cast<float>(isum - l.off * s) * (d * da);
                            if (l.corr == Corr::zero_point) acc += static_cast<float>(isum - rd.zero() * s) * (d * da);
                            if (l.corr == Corr::min_f16)
                                acc += static_cast<float>(isum) * (d * da) + rd.second_f16() * (da * static_cast<float>(s));
                        }
                    } else {
                        int acc_i = 0, msum = 0;
                        for (int s = 0; s < nsub; ++s) {
                            int isum = 0;
                            for (int i = 0; i < l.sub; ++i) isum += rd.code(s * l.sub + i) * q[e0 + s * l.sub + i];
                            acc_i += rd.scale(s) * isum;
                        }
                        // asym: Σ mn·Σa; sym: Σ sc·Σa, the constant offset's term.
                        for (int s16 = 0; s16 < 16; ++s16) {
                            const int s = s16 * 16 / l.sub;
                            msum += (l.corr == Corr::k_asym ? rd.min(s) : rd.scale(s)) * a.sum16[r * (a.k / 16) + e0 / 16 + s16];
                        }
                        const float da = a.d[r * units + b];
                        if (l.corr == Corr::k_sym)
                            acc += static_cast<float>(acc_i - l.off * msum) * (rd.d() * da);
                        else
                            acc += static_cast<float>(acc_i) * (rd.d() * da) -
                                   static_cast<float>(msum) * (rd.second_f16() * da);
                    }
                }
                y[r * w.n + col] = acc;
            }
        }
    }
}

void matmul_f32_scalar(const QuantMatrix& w, const float* x, const float* xsum16, int64_t m, float* y, int64_t t0,
                       int64_t t1) {
    std::vector<float> row(static_cast<size_t>(w.k));
    for (int64_t t = t0; t < t1; ++t) {
        for (int n = 0; n < kQuantTileRows; ++n) {
            const int64_t col = t * kQuantTileRows + n;
            if (col >= w.n) break;
            unpack_quant_row(w, col, row.data());
            for (int64_t r = 0; r < m; ++r) {
                float acc = 0;
                for (int64_t i = 0; i < w.k; ++i) acc += row[static_cast<size_t>(i)] * x[r * w.k + i];
                y[r * w.n + col] = acc;
            }
        }
    }
}

}  // namespace

const QuantMatmulKernels kQuantMatmulScalar = {
    .name = "quant_matmul_scalar",
    .isa = Isa::scalar,
    .quantize_acts = quantize_acts_scalar,
    .matmul_q8 = matmul_q8_scalar,
    .matmul_f32 = matmul_f32_scalar,
};

void quant_matmul_reference(QuantType type, int group, const void* blocks, int64_t n, int64_t k, const float* x,
                            int64_t m, double* y) {
    reference_impl(type, group, blocks, n, k, m, [&](int64_t r, int64_t i) { return static_cast<double>(x[r * k + i]); },
                   y);
}

void quant_matmul_reference_q8(QuantType type, int group, const void* blocks, int64_t n, int64_t k,
                               const QuantActs& a, double* y) {
    const int64_t nb = k / a.block;
    reference_impl(type, group, blocks, n, k, a.m,
                   [&](int64_t r, int64_t i) {
                       return static_cast<double>(a.d[r * nb + i / a.block]) * a.q[r * k + i];
                   },
                   y);
}

}  // namespace tern
