#pragma once
// One traits struct per packed GEMM family (f32, bf16, q8) for the typed suite in
// test_gemm_common.cpp: how to build a case's operands, run a variant, run the
// reference, and the dtype's error budget (f32 / bf16 a worst-case fp32
// summation bound, q8 bit-exact).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "core/half.h"
#include "core/thread_pool.h"
#include "gemm_test_util.h"
#include "kernels/gemm_bf16/gemm_bf16.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "kernels/gemm_q8/gemm_q8.h"

namespace tern::gemm_test {

// One product in the suite's terms; each family maps the epilogue onto its args.
template <class Epilogue>
struct Case {
    Shape3 s;
    bool ta, tb;
    Epilogue e;
    bool prepack = false;  // B packed once (a PackedB) instead of per call
};

// C = act(alpha op(A) op(B) + beta C + bias) in fp32 for f32 and bf16 operands.
struct FloatEpilogue {
    float alpha = 1.0f, beta = 0.0f;
    bool bias = false;
    Activation act = Activation::none;
};

struct F32Ops {
    using Elem = float;
    using Kernel = GemmF32Kernel;
    using Args = GemmF32Args;
    using PackedB = GemmF32PackedB;
    static constexpr const char* kName = "f32";
    static std::span<const Kernel> table() { return gemm_f32_table(); }
    static std::span<const Kernel* const> variants() { return gemm_f32_variants(); }
    static const Kernel& chosen() { return gemm_f32_kernel(); }
    static void gemm(const Kernel& kernel, const Args& g, ThreadPool& pool) { gemm_f32(kernel, g, pool); }
    static void reference(const Args& g) { gemm_f32_reference(g); }
    static std::vector<Elem> to_elem(std::vector<float> x) { return x; }
    static double to_double(Elem x) { return x; }
};

struct Bf16Ops {
    using Elem = uint16_t;
    using Kernel = GemmBf16Kernel;
    using Args = GemmBf16Args;
    using PackedB = GemmBf16PackedB;
    static constexpr const char* kName = "bf16";
    static std::span<const Kernel> table() { return gemm_bf16_table(); }
    static std::span<const Kernel* const> variants() { return gemm_bf16_variants(); }
    static const Kernel& chosen() { return gemm_bf16_kernel(); }
    static void gemm(const Kernel& kernel, const Args& g, ThreadPool& pool) { gemm_bf16(kernel, g, pool); }
    static void reference(const Args& g) { gemm_bf16_reference(g); }
    static std::vector<Elem> to_elem(const std::vector<float>& x) {
        std::vector<Elem> out(x.size());
        for (size_t i = 0; i < x.size(); ++i) out[i] = fp32_to_bf16(x[i]);
        return out;
    }
    static double to_double(Elem x) { return bf16_to_fp32(x); }
};

// Shared by f32 and bf16; Family supplies Elem, Kernel, Args, PackedB, kName,
// table / variants / chosen, gemm, reference and to_elem / to_double.
template <class Family>
struct FloatGemmTraits : Family {
    using Epilogue = FloatEpilogue;
    static constexpr bool kTransA = true;    // A may be given transposed
    static constexpr bool kUnpackedB = true;  // B may be packed per call

    // The plain product every shape test runs.
    static std::vector<Epilogue> outputs() { return {{}}; }
    // alpha / beta / bias / every activation; the last one has a bias.
    static std::vector<Epilogue> epilogues() {
        std::vector<Epilogue> out;
        for (bool with_bias : {false, true})
            for (Activation act : {Activation::none, Activation::relu, Activation::gelu_tanh, Activation::silu})
                out.push_back(with_bias ? Epilogue{0.75f, -1.5f, true, act} : Epilogue{-2.0f, 1.0f, false, act});
        return out;
    }

    struct Operands {
        std::vector<typename Family::Elem> a, b;
        std::vector<float> c0, bias;
        Layout la, lb;
        int64_t ldc;
    };
    static Operands make(const Case<Epilogue>& cs, uint32_t seed) {
        const auto [m, n, k] = cs.s;
        Operands o;
        o.la = layout_of(m, k, cs.ta), o.lb = layout_of(k, n, cs.tb);
        o.ldc = n + 5;
        o.a = Family::to_elem(random_floats(static_cast<size_t>(o.la.stored_rows * o.la.ld), seed));
        o.b = Family::to_elem(random_floats(static_cast<size_t>(o.lb.stored_rows * o.lb.ld), seed + 1));
        o.c0 = random_floats(static_cast<size_t>(m * o.ldc), seed + 2);
        o.bias = random_floats(static_cast<size_t>(n), seed + 3);
        return o;
    }
    static typename Family::Args args(const Case<Epilogue>& cs, const Operands& o, float* c) {
        typename Family::Args g;
        g.m = cs.s.m, g.n = cs.s.n, g.k = cs.s.k;
        g.a = o.a.data(), g.lda = o.la.ld, g.trans_a = cs.ta;
        g.b = o.b.data(), g.ldb = o.lb.ld, g.trans_b = cs.tb;
        g.c = c, g.ldc = o.ldc, g.alpha = cs.e.alpha, g.beta = cs.e.beta;
        g.bias = cs.e.bias ? o.bias.data() : nullptr, g.act = cs.e.act;
        return g;
    }

    // C after the variant runs (rows padded to ldc); the same bits each call.
    static std::vector<float> run(const typename Family::Kernel& kernel, ThreadPool& pool, const Case<Epilogue>& cs,
                                  uint32_t seed) {
        const Operands o = make(cs, seed);
        std::vector<float> c = o.c0;
        auto g = args(cs, o, c.data());
        std::unique_ptr<typename Family::PackedB> packed;
        if (cs.prepack) {
            packed = std::make_unique<typename Family::PackedB>(kernel, o.b.data(), o.lb.ld, cs.tb, cs.s.k, cs.s.n);
            g.packed_b = packed.get();
        }
        Family::gemm(kernel, g, pool);
        return c;
    }

    // Every element against the double-accumulating reference with the budget
    // |err| <= (K + 8) * u * S * 1.5 + 4e-6 * |ref|, where S is the sum of
    // magnitudes that fed the element (|alpha| sum|a||b| + |beta c| + |bias|) and
    // u = 2^-24: the worst-case bound of a K-term fp32 dot product, plus the
    // activation's few ulps. bf16 inputs are exact bf16 values, so their
    // products are exact in fp32 and only accumulation rounds: the same budget.
    static void check(const typename Family::Kernel& kernel, ThreadPool& pool, const Case<Epilogue>& cs,
                      uint32_t seed) {
        const auto [m, n, k] = cs.s;
        const Operands o = make(cs, seed);
        const std::vector<float> c = run(kernel, pool, cs, seed);
        std::vector<float> c_ref = o.c0;
        Family::reference(args(cs, o, c_ref.data()));
        int bad = 0;
        for (int64_t i = 0; i < m; ++i) {
            for (int64_t j = 0; j < o.ldc; ++j) {
                const size_t idx = static_cast<size_t>(i * o.ldc + j);
                if (j >= n) {  // padding between rows must be untouched
                    ASSERT_EQ(c[idx], o.c0[idx]) << kernel.name << " wrote past N at " << i << "," << j;
                    continue;
                }
                double s = 0.0;
                for (int64_t p = 0; p < k; ++p) {
                    const double av = Family::to_double(cs.ta ? o.a[p * o.la.ld + i] : o.a[i * o.la.ld + p]);
                    const double bv = Family::to_double(cs.tb ? o.b[j * o.lb.ld + p] : o.b[p * o.lb.ld + j]);
                    s += std::fabs(av * bv);
                }
                s = std::fabs(cs.e.alpha) * s + std::fabs(cs.e.beta * o.c0[idx]) + (cs.e.bias ? std::fabs(o.bias[j]) : 0.0);
                const double budget = (k + 8) * 5.96e-8 * s * 1.5 + 4e-6 * std::fabs(c_ref[idx]) + 1e-30;
                const double err = std::fabs(static_cast<double>(c[idx]) - c_ref[idx]);
                if (!(err <= budget) && bad++ < 3)
                    ADD_FAILURE() << kernel.name << " m=" << m << " n=" << n << " k=" << k << " ta=" << cs.ta
                                  << " tb=" << cs.tb << " prepack=" << cs.prepack << " act=" << activation_name(cs.e.act)
                                  << " at (" << i << "," << j << "): got " << c[idx] << " want " << c_ref[idx]
                                  << " budget " << budget;
            }
        }
    }
};

using F32Traits = FloatGemmTraits<F32Ops>;
using Bf16Traits = FloatGemmTraits<Bf16Ops>;

// u8 (zero point) x s8 -> one of the three outputs, with the operand ranges
// (the extremes reach where vpmaddubsw would saturate).
struct Q8Epilogue {
    Q8Output out = Q8Output::s32;
    int32_t a_zp = 128;
    bool bias = false;
    int32_t qmin = -128, qmax = 127;
    int32_t a_lo = 0, a_hi = 255, b_lo = -128, b_hi = 127;
};

struct Q8Traits {
    using Kernel = GemmQ8Kernel;
    using Epilogue = Q8Epilogue;
    static constexpr const char* kName = "q8";
    static constexpr bool kTransA = false;    // A is always (M, lda) u8
    static constexpr bool kUnpackedB = false;  // weights are always a GemmQ8PackedB
    static std::span<const Kernel> table() { return gemm_q8_table(); }
    static std::span<const Kernel* const> variants() { return gemm_q8_variants(); }
    static const Kernel& chosen() { return gemm_q8_kernel(); }

    static std::vector<Epilogue> outputs() {
        return {{.out = Q8Output::s32, .bias = true}, {.out = Q8Output::requant_s8}, {.out = Q8Output::dequant_f32, .bias = true}};
    }
    // Zero points at both ends, a fused-ReLU clamp and a narrow one; the last one has a bias.
    static std::vector<Epilogue> epilogues() {
        return {{.out = Q8Output::s32, .a_zp = 255, .bias = true},
                {.out = Q8Output::requant_s8, .a_zp = 7, .bias = true, .qmin = 3, .qmax = 127},
                {.out = Q8Output::requant_s8, .a_zp = 0, .qmin = -20, .qmax = 20},
                {.out = Q8Output::dequant_f32, .a_zp = 100, .bias = true}};
    }

    // Compares every byte of C, the padding between rows included (must stay 0xA5).
    static void check(const Kernel& kernel, ThreadPool& pool, const Case<Epilogue>& cs, uint32_t seed) {
        const auto [m, n, k] = cs.s;
        const Epilogue& e = cs.e;
        const int64_t lda = k + 3, ldc = n + 5;
        const auto lb = layout_of(k, n, cs.tb);
        const auto a = random_ints<uint8_t>(static_cast<size_t>(m * lda), seed, e.a_lo, e.a_hi);
        const auto b = random_ints<int8_t>(static_cast<size_t>(lb.stored_rows * lb.ld), seed + 1, e.b_lo, e.b_hi);
        const auto bias_s32 = random_ints<int32_t>(static_cast<size_t>(n), seed + 2, -5000, 5000);
        const auto bias_f32 = random_floats(static_cast<size_t>(n), seed + 3);
        const auto b_scale = random_floats(static_cast<size_t>(n), seed + 4, 1e-3f, 2e-2f);
        const size_t elem = e.out == Q8Output::requant_s8 ? 1 : 4;
        std::vector<uint8_t> c(static_cast<size_t>(m * ldc) * elem, 0xA5), c_ref = c;

        GemmQ8PackedB packed(kernel, b.data(), lb.ld, cs.tb, k, n);
        GemmQ8Args g;
        g.m = m, g.n = n, g.k = k;
        g.a = a.data(), g.lda = lda, g.a_zero_point = e.a_zp, g.a_scale = 0.05f;
        g.b = &packed, g.b_scale = b_scale.data();
        g.output = e.out, g.ldc = ldc;
        g.bias_s32 = e.bias ? bias_s32.data() : nullptr;
        g.bias_f32 = e.bias && e.out == Q8Output::dequant_f32 ? bias_f32.data() : nullptr;
        // out_scale puts one standard deviation of corr (~74*74*sqrt(K) for uniform
        // operands) at ~40 int8 steps: values spread over the range and the tails clamp.
        g.out_scale = 0.05f * 0.0105f * 5500.0f * std::sqrt(static_cast<float>(std::max<int64_t>(k, 1))) / 40.0f;
        g.out_zero_point = 3, g.qmin = e.qmin, g.qmax = e.qmax;
        g.c = c.data();
        gemm_q8(g, pool);
        g.c = c_ref.data();
        gemm_q8_reference(g, b.data(), lb.ld, cs.tb);
        if (std::memcmp(c.data(), c_ref.data(), c.size()) != 0) {
            size_t first = 0;
            while (c[first] == c_ref[first]) ++first;
            ADD_FAILURE() << kernel.name << " m=" << m << " n=" << n << " k=" << k << " tb=" << cs.tb
                          << " mode=" << static_cast<int>(e.out) << ": first differing byte " << first << " (row "
                          << first / elem / ldc << ", col " << first / elem % ldc << ")";
        }
    }
};

}  // namespace tern::gemm_test
