// Linear: weights prepared once, one forward() for every matmul.
#include "ops/linear.h"

#include <array>

#include "kernels/quant_matmul/quant_matmul.h"

#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "kernels/gemm_bf16/gemm_bf16.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "kernels/gemv_f16/gemv_f16.h"
#include "formats/tensor_codec.h"
#include "formats/w8a8_block.h"
#include "kernels/w8a8/w8a8_matmul.h"
#include "ops/linear_sparse24.h"

namespace tern::ops {

const char* linear_path_name(LinearPath p) {
    switch (p) {
        case LinearPath::f32_packed: return "f32";
        case LinearPath::f16_panels: return "f16";
        case LinearPath::bf16_packed: return "bf16";
        case LinearPath::quantized_int8: return "quantized-int8";
        case LinearPath::dequantized_f32: return "dequantized-f32";
        case LinearPath::w8a8_int8: return "w8a8-int8";
        case LinearPath::sparse24_int8: return "sparse24-int8";
    }
    return "?";
}

const char* float_math_name(FloatMath m) {
    switch (m) {
        case FloatMath::exact: return "exact";
        case FloatMath::bf16: return "bf16";
        case FloatMath::auto_: return "auto";
    }
    return "?";
}

std::optional<FloatMath> parse_float_math(const std::string& s) {
    if (s == "exact") return FloatMath::exact;
    if (s == "bf16") return FloatMath::bf16;
    if (s == "auto") return FloatMath::auto_;
    return std::nullopt;
}

FloatMath resolve_float_math(FloatMath m, DType weight) {
    if (m != FloatMath::auto_) return m;
    const bool sixteen_bit = weight == DType::f16 || weight == DType::bf16;
    return sixteen_bit && gemm_bf16_kernel().isa == Isa::avx512 ? FloatMath::bf16 : FloatMath::exact;
}

namespace {

// The int8 activation codes of one matmul call. One buffer per calling thread,
// shared by every weight: a buffer per weight would hold M × K bytes for each
// of a model's ~150 matrices after a prefill (~200 MB at M = 512 on TinyLlama).
QuantScratch& activation_scratch() {
    thread_local QuantScratch scratch;
    return scratch;
}
W8A8Scratch& w8a8_scratch() {
    thread_local W8A8Scratch scratch;
    return scratch;
}

}  // namespace

Linear::Linear(const Tensor& w, std::vector<float> bias, const std::string& name, Activation act,
                           FloatMath math)
    : source_dtype_(w.dtype()), act_(act), math_(resolve_float_math(math, w.dtype())), bias_(std::move(bias)) {
    if (w.rank() != 2) throw InputError(name, "a linear weight must be 2-D, got shape " + shape_to_string(w.shape()));
    n_ = w.dim(0);
    k_ = w.dim(1);
    if (!bias_.empty() && static_cast<int64_t>(bias_.size()) != n_)
        throw InputError(name, format("bias has %zu values for %lld outputs", bias_.size(), (long long)n_));
    const Tensor wc = w.contiguous();
    if (source_dtype_ == DType::f32 && math == FloatMath::bf16) {
        path_ = LinearPath::bf16_packed;
        std::vector<uint16_t> wb(static_cast<size_t>(n_ * k_));
        round_to_bf16(wc.data<float>(), n_ * k_, wb.data(), default_pool());
        packed_bf16_ = std::make_unique<GemmBf16PackedB>(gemm_bf16_kernel(), wb.data(), k_, true, k_, n_);
        prepared_bytes_ = gemm::prepacked_b_elements(gemm_bf16_kernel().blocking, k_, n_) * sizeof(uint16_t);
    } else if (source_dtype_ == DType::f32) {
        path_ = LinearPath::f32_packed;
        packed_f32_ = std::make_unique<GemmF32PackedB>(gemm_f32_kernel(), wc.data<float>(), k_, /*trans_b=*/true, k_, n_);
        prepared_bytes_ = gemm::prepacked_b_elements(gemm_f32_kernel().blocking, k_, n_) * sizeof(float);
    } else if (source_dtype_ == DType::f16) {
        path_ = LinearPath::f16_panels;
        packed_f16_ = std::make_unique<GemvF16Weights>(gemv_f16_kernel(), wc.data<uint16_t>(), k_, n_, k_, &default_pool());
        prepared_bytes_ = packed_f16_->bytes();
    } else if (source_dtype_ == DType::bf16) {
        path_ = LinearPath::bf16_packed;
        packed_bf16_ = std::make_unique<GemmBf16PackedB>(gemm_bf16_kernel(), wc.data<uint16_t>(), k_, true, k_, n_);
        prepared_bytes_ = gemm::prepacked_b_elements(gemm_bf16_kernel().blocking, k_, n_) * sizeof(uint16_t);
    } else if (source_dtype_ == DType::w8a8) {
        path_ = LinearPath::w8a8_int8;
        W8A8Unpacked u = unpack_w8a8(wc.data<uint8_t>(), n_, k_, name);
        packed_w8a8_ = std::make_unique<W8A8Matrix>(gemm_q8_kernel(), u.codes.data(), std::move(u.row_scales),
                                                    u.act_scale, n_, k_);
        prepared_bytes_ = packed_w8a8_->packed_bytes();
    } else if (source_dtype_ == DType::sparse24_q8) {
        sparse24_choice_ = std::make_unique<Sparse24Choice>(
            choose_sparse24_path(wc.data<uint8_t>(), n_, k_, name, packed_s24_, packed_w8a8_));
        path_ = packed_s24_ ? LinearPath::sparse24_int8 : LinearPath::w8a8_int8;
        prepared_bytes_ = packed_s24_ ? packed_s24_->bytes() : packed_w8a8_->packed_bytes();
    } else if (const auto qk = quant_kernel_for_dtype(source_dtype_)) {
        // GGUF blocks and int4g128 (quant_matmul's int4_asym at group 128): the storage table's kernel column.
        path_ = LinearPath::quantized_int8;
        packed_quant_ = std::make_unique<QuantMatrix>(pack_quant_matrix(qk->type, wc.data<uint8_t>(), n_, k_, qk->group));
        prepared_bytes_ = packed_quant_->packed_bytes();
    } else {
        // q8_1/q8_k (activation formats) and int3g128/int2g128 (no packed kernel) decode once.
        path_ = LinearPath::dequantized_f32;
        const std::vector<float> wf = tensor_to_f32(wc, name);  // (N, K)
        packed_f32_ = std::make_unique<GemmF32PackedB>(gemm_f32_kernel(), wf.data(), k_, true, k_, n_);
        prepared_bytes_ = gemm::prepacked_b_elements(gemm_f32_kernel().blocking, k_, n_) * sizeof(float);
    }
}

Linear::~Linear() = default;

uint64_t Linear::source_bytes() const {
    return dtype_bytes_for(source_dtype_, static_cast<uint64_t>(n_) * static_cast<uint64_t>(k_));
}

void Linear::apply_bias_act(float* y, int64_t M) const {
    if (bias_.empty() && act_ == Activation::none) return;
    parallel_for(M, 1, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            float* row = y + r * n_;
            for (int64_t j = 0; j < n_; ++j)
                row[j] = gemm::activate(bias_.empty() ? row[j] : row[j] + bias_[static_cast<size_t>(j)], act_);
        }
    });
}

void Linear::forward_many(std::span<const Linear* const> ws, const float* x, std::span<float* const> ys,
                                int64_t M) {
    if (M <= 0 || ws.empty()) return;
    bool together = ws.size() > 1;
    for (const Linear* w : ws)
        together = together && w->packed_quant_ && w->k_ == ws[0]->k_ &&
                   is_k_quant(w->packed_quant_->type) == is_k_quant(ws[0]->packed_quant_->type);
    if (!together) {
        for (size_t i = 0; i < ws.size(); ++i) ws[i]->forward(x, ys[i], M);
        return;
    }
    if (ws.size() > kMaxMatricesTogether) {
        for (size_t i = 0; i < ws.size(); ++i) ws[i]->forward(x, ys[i], M);
        return;
    }
    std::array<const QuantMatrix*, kMaxMatricesTogether> mats{};
    for (size_t i = 0; i < ws.size(); ++i) mats[i] = ws[i]->packed_quant_.get();
    quant_matmul_many(std::span(mats.data(), ws.size()), x, M, ys, ActMode::int8, activation_scratch(), default_pool());
    for (size_t i = 0; i < ws.size(); ++i) ws[i]->apply_bias_act(ys[i], M);
}

void Linear::forward(const float* x, float* y, int64_t M) const {
    if (M <= 0) return;
    if (packed_s24_) {
        packed_s24_->forward(x, M, y);
        apply_bias_act(y, M);
        return;
    }
    if (packed_w8a8_) {
        w8a8_matmul(*packed_w8a8_, x, M, y, w8a8_scratch(), default_pool());
        apply_bias_act(y, M);
        return;
    }
    if (packed_quant_) {
        quant_matmul(*packed_quant_, x, M, y, ActMode::int8, activation_scratch(), default_pool());
        apply_bias_act(y, M);
        return;
    }
    if (packed_f16_) {
        if (math_ == FloatMath::bf16 && M >= kBf16PrefillMinRows) {
            gemm_f16_bf16(*packed_f16_, x, M, y, bias_.empty() ? nullptr : bias_.data(), act_, default_pool());
            return;
        }
        matmul_f16(*packed_f16_, x, M, y, bias_.empty() ? nullptr : bias_.data(), act_, default_pool());
        return;
    }
    if (packed_f32_) {
        GemmF32Args a;
        a.m = M;
        a.n = n_;
        a.k = k_;
        a.a = x;
        a.lda = k_;
        a.packed_b = packed_f32_.get();
        a.c = y;
        a.ldc = n_;
        a.bias = bias_.empty() ? nullptr : bias_.data();
        a.act = act_;
        gemm_f32(a);
        return;
    }
    // bf16 weights multiply bf16 activations (vdpbf16ps); round x once here.
    thread_local std::vector<uint16_t> xb;  // (M, K) bf16
    xb.resize(static_cast<size_t>(M * k_));
    round_to_bf16(x, M * k_, xb.data(), default_pool());
    GemmBf16Args a;
    a.m = M;
    a.n = n_;
    a.k = k_;
    a.a = xb.data();
    a.lda = k_;
    a.packed_b = packed_bf16_.get();
    a.c = y;
    a.ldc = n_;
    a.bias = bias_.empty() ? nullptr : bias_.data();
    a.act = act_;
    gemm_bf16(a);
}

}  // namespace tern::ops
