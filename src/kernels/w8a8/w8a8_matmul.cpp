// w8a8_matmul: per-call activation quantization, then gemm_q8 with the dequantizing epilogue.
#include "kernels/w8a8/w8a8_matmul.h"

#include <cmath>

#include "core/thread_pool.h"
#include "kernels/gemm_common/gemm_blocking.h"
#include "kernels/kernel_table.h"

namespace tern {

#define W8A8_ACT_FN w8a8_quantize_activations_scalar
#include "kernels/w8a8/act_quant.inc"
#undef W8A8_ACT_FN

namespace {
constexpr W8A8ActKernel kActTable[] = {
    {.name = "w8a8_act_quant_avx512", .isa = Isa::avx512, .quantize_row = w8a8_quantize_activations_avx512},
    {.name = "w8a8_act_quant_avx2", .isa = Isa::avx2, .quantize_row = w8a8_quantize_activations_avx2},
    {.name = "w8a8_act_quant_scalar", .isa = Isa::scalar, .quantize_row = w8a8_quantize_activations_scalar},
};
}  // namespace

std::span<const W8A8ActKernel> w8a8_act_table() { return kActTable; }

std::span<const W8A8ActKernel* const> w8a8_act_variants() {
    static const std::vector<const W8A8ActKernel*> variants = supported_kernels_of<W8A8ActKernel>(kActTable);
    return variants;
}

const W8A8ActKernel& w8a8_act_kernel() {
    static const W8A8ActKernel* chosen = choose_kernel_of<W8A8ActKernel>(kActTable);
    return *chosen;
}

W8A8Matrix::W8A8Matrix(const GemmQ8Kernel& kernel, const int8_t* codes, std::vector<float> row_scales,
                       float act_scale, int64_t n, int64_t k)
    : packed_(kernel, codes, k, /*trans_b=*/true, k, n), row_scales_(std::move(row_scales)), act_scale_(act_scale) {}

uint64_t W8A8Matrix::packed_bytes() const {
    return static_cast<uint64_t>(gemm::prepacked_b_elements(packed_.kernel().blocking, k(), n())) +
           row_scales_.size() * sizeof(float) + static_cast<uint64_t>(n()) * sizeof(int32_t);
}

void w8a8_quantize_activation_row(const float* x, int64_t k, float act_scale, uint8_t* q, float* scale) {
    float s = act_scale;
    if (!(act_scale > 0.0f)) {
        float amax = 0.0f;
        for (int64_t i = 0; i < k; ++i) amax = std::fmax(amax, std::fabs(x[i]));  // fmax drops NaN
        s = amax / 127.0f;
    }
    *scale = s;
    const float inv = s > 0.0f ? 1.0f / s : 0.0f;
    for (int64_t i = 0; i < k; ++i) {
        float v = x[i] * inv;
        v = v < -127.0f ? -127.0f : v;
        v = v > 127.0f ? 127.0f : v;
        const int32_t c = std::isnan(v) ? 0 : static_cast<int32_t>(std::nearbyint(v));
        q[i] = static_cast<uint8_t>(c + kW8A8ZeroPoint);
    }
}

void w8a8_matmul(const W8A8Matrix& w, const float* x, int64_t m, float* y, W8A8Scratch& scratch, ThreadPool& pool) {
    if (m <= 0) return;
    const int64_t k = w.k(), n = w.n();
    scratch.codes.resize(static_cast<size_t>(m * k));
    scratch.scales.resize(static_cast<size_t>(m));
    const W8A8ActQuantFn quantize_row = w8a8_act_kernel().quantize_row;
    pool.parallel_for(m, 1, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r)
            quantize_row(x + r * k, k, w.act_scale(), scratch.codes.data() + r * k, &scratch.scales[size_t(r)]);
    });
    const bool dynamic = !(w.act_scale() > 0.0f);
    GemmQ8Args g;
    g.m = m, g.n = n, g.k = k;
    g.a = scratch.codes.data(), g.lda = k, g.a_zero_point = kW8A8ZeroPoint;
    g.a_scale = dynamic ? 1.0f : w.act_scale();
    g.b = &w.packed(), g.b_scale = w.row_scales();
    g.output = Q8Output::dequant_f32;
    g.c = y, g.ldc = n;
    gemm_q8(g, pool);
    if (!dynamic) return;
    pool.parallel_for(m, 1, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            const float s = scratch.scales[static_cast<size_t>(r)];
            float* row = y + r * n;
            for (int64_t j = 0; j < n; ++j) row[j] *= s;
        }
    });
}

}  // namespace tern
