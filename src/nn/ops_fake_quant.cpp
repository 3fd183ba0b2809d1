// Fake-quant ops (ops_fake_quant.h). Elements are walked as (channels, inner)
// in fixed chunks, so the scale gradients' partial sums add up in the same
// order whatever the thread count (runs stay reproducible).
#include "nn/ops_fake_quant.h"

#include <cmath>
#include <vector>

#include "core/error.h"
#include "nn/parallel.h"

namespace tern::nn {
namespace {

constexpr int64_t kChunk = 4096;

// Round half to even (torch.round, std::nearbyint) by the 1.5 * 2^23 trick:
// exact for |v| < 2^22, and larger values only feed a clamp to the grid. Inline
// arithmetic, where nearbyintf is a libm call per element (QAT evaluation was
// 3x slower for it on x86-64 baseline builds).
inline float round_even(float v) {
    constexpr float kMagic = 12582912.0f;
    return (v + kMagic) - kMagic;
}

struct Chunk {
    int64_t channel, begin, end;  // element range [begin, end) of one channel
};

// x viewed as (channels, numel / channels); channels = the scale's element count.
std::vector<Chunk> chunks_of(const Var& x, int64_t channels, const char* op) {
    const int64_t n = x.numel();
    if (channels != 1 && (x.rank() == 0 || x.dim(0) != channels))
        throw Error(op, format("scale has %lld elements; needs 1 or dim 0 of %s", static_cast<long long>(channels),
                               shape_to_string(x.shape()).c_str()));
    const int64_t inner = n / channels;
    std::vector<Chunk> out;
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t i = 0; i < inner; i += kChunk) out.push_back({c, c * inner + i, c * inner + std::min(inner, i + kChunk)});
    return out;
}

void check_scales(const float* s, int64_t n, const char* op) {
    for (int64_t i = 0; i < n; ++i)
        if (!(s[i] > 0) || !std::isfinite(s[i]))
            throw Error(op, format("scale %lld is %g; scales must be finite and > 0", static_cast<long long>(i), s[i]));
}

// Chunk partial sums into per-channel totals, in chunk order.
void add_channel_sums(const std::vector<Chunk>& chunks, const std::vector<double>& partial, const Var& target) {
    const GradSink gs = grad_sink(target);
    if (!gs) return;
    std::vector<double> total(static_cast<size_t>(target.numel()), 0.0);
    for (size_t k = 0; k < chunks.size(); ++k) total[static_cast<size_t>(chunks[k].channel)] += partial[k];
    for (size_t c = 0; c < total.size(); ++c) {
        const float v = static_cast<float>(total[c]);
        gs.data[c] = gs.fresh ? v : gs.data[c] + v;
    }
}

void pass_inside(const Var& x, const Tensor& gy, const std::vector<uint8_t>& inside) {
    const GradSink gx = grad_sink(x);
    if (!gx) return;
    const float* g = gy.data<float>();
    const int64_t n = x.numel();
    parallel_items(n, 2, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const float v = inside[static_cast<size_t>(i)] ? g[i] : 0.0f;
            gx.data[i] = gx.fresh ? v : gx.data[i] + v;
        }
    });
}

}  // namespace

QuantGrid quant_grid(int bits, bool is_signed) {
    if (bits < 2 || bits > 8) throw Error("fake_quant", format("bits must be in [2, 8], got %d", bits));
    if (is_signed) return {-(int64_t{1} << (bits - 1)), (int64_t{1} << (bits - 1)) - 1};
    return {0, (int64_t{1} << bits) - 1};
}

Var fake_quant_ste(const Var& x, const Tensor& scale_in, const Tensor& zp_in, QuantGrid g) {
    const Tensor scale = scale_in.contiguous(), zp = zp_in.contiguous();
    const int64_t channels = scale.numel();
    if (zp.numel() != channels) throw Error("fake_quant_ste", "scale and zero point differ in length");
    const auto chunks = chunks_of(x, channels, "fake_quant_ste");
    const float* s = scale.data<float>();
    const float* z = zp.data<float>();
    check_scales(s, channels, "fake_quant_ste");
    Tensor y = Tensor::empty(x.shape());
    std::vector<uint8_t> inside(static_cast<size_t>(x.numel()));
    const float* px = x.data();
    float* py = y.data<float>();
    const float lo = static_cast<float>(g.qmin), hi = static_cast<float>(g.qmax);
    parallel_items(static_cast<int64_t>(chunks.size()), 2 * kChunk, [&](int64_t k0, int64_t k1) {
        for (int64_t k = k0; k < k1; ++k) {
            const Chunk& ch = chunks[static_cast<size_t>(k)];
            const float sc = s[ch.channel], inv = 1.0f / sc, zc = z[ch.channel];
            for (int64_t i = ch.begin; i < ch.end; ++i) {
                const float q = round_even(px[i] * inv) + zc;
                inside[static_cast<size_t>(i)] = q >= lo && q <= hi;
                py[i] = (std::fmin(std::fmax(q, lo), hi) - zc) * sc;
            }
        }
    });
    return make_result(y, {x}, [x, inside = std::move(inside)](const Tensor& gy) { pass_inside(x, gy, inside); });
}

Var fake_quant_lsq(const Var& x, const Var& scale, QuantGrid g, float grad_scale) {
    const int64_t channels = scale.numel();
    const auto chunks = chunks_of(x, channels, "fake_quant_lsq");
    check_scales(scale.data(), channels, "fake_quant_lsq");
    Tensor y = Tensor::empty(x.shape());
    const float lo = static_cast<float>(g.qmin), hi = static_cast<float>(g.qmax);
    const float* px = x.data();
    const float* s = scale.data();
    float* py = y.data<float>();
    parallel_items(static_cast<int64_t>(chunks.size()), 2 * kChunk, [&](int64_t k0, int64_t k1) {
        for (int64_t k = k0; k < k1; ++k) {
            const Chunk& ch = chunks[static_cast<size_t>(k)];
            const float sc = s[ch.channel];
            for (int64_t i = ch.begin; i < ch.end; ++i) py[i] = round_even(std::fmin(std::fmax(px[i] / sc, lo), hi)) * sc;
        }
    });
    return make_result(y, {x, scale}, [x, scale, chunks, lo, hi, grad_scale](const Tensor& gy) {
        const float* px = x.data();
        const float* s = scale.data();
        const float* gd = gy.data<float>();
        std::vector<uint8_t> inside(static_cast<size_t>(x.numel()));
        std::vector<double> partial(chunks.size(), 0.0);
        parallel_items(static_cast<int64_t>(chunks.size()), 4 * kChunk, [&](int64_t k0, int64_t k1) {
            for (int64_t k = k0; k < k1; ++k) {
                const Chunk& ch = chunks[static_cast<size_t>(k)];
                const float sc = s[ch.channel];
                double acc = 0;
                for (int64_t i = ch.begin; i < ch.end; ++i) {
                    const float v = px[i] / sc;
                    float d;  // d y / d s
                    if (v < lo) {
                        d = lo;
                    } else if (v > hi) {
                        d = hi;
                    } else {
                        d = round_even(v) - v;
                        inside[static_cast<size_t>(i)] = 1;
                    }
                    acc += static_cast<double>(gd[i]) * d;
                }
                partial[static_cast<size_t>(k)] = acc * grad_scale;
            }
        });
        pass_inside(x, gy, inside);
        add_channel_sums(chunks, partial, scale);
    });
}

Var fake_quant_pact(const Var& x, const Var& alpha, int bits, bool is_signed) {
    if (alpha.numel() != 1) throw Error("fake_quant_pact", "alpha must have one element");
    const float a = alpha.item();
    if (!(a > 0) || !std::isfinite(a)) throw Error("fake_quant_pact", format("alpha is %g; it must be finite and > 0", a));
    const QuantGrid g = quant_grid(bits, is_signed);
    const float lo = is_signed ? -a : 0.0f;
    const float s = a / static_cast<float>(g.qmax);
    const auto chunks = chunks_of(x, 1, "fake_quant_pact");
    Tensor y = Tensor::empty(x.shape());
    const float* px = x.data();
    float* py = y.data<float>();
    parallel_items(x.numel(), 4, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) py[i] = round_even(std::fmin(std::fmax(px[i], lo), a) / s) * s;
    });
    return make_result(y, {x, alpha}, [x, alpha, chunks, lo, a](const Tensor& gy) {
        const float* px = x.data();
        const float* gd = gy.data<float>();
        std::vector<uint8_t> inside(static_cast<size_t>(x.numel()));
        std::vector<double> partial(chunks.size(), 0.0);
        parallel_items(static_cast<int64_t>(chunks.size()), 2 * kChunk, [&](int64_t k0, int64_t k1) {
            for (int64_t k = k0; k < k1; ++k) {
                const Chunk& ch = chunks[static_cast<size_t>(k)];
                double acc = 0;
                for (int64_t i = ch.begin; i < ch.end; ++i) {
                    if (px[i] >= a)
                        acc += gd[i];
                    else if (lo < 0 && px[i] <= lo)
                        acc -= gd[i];
                    else
                        inside[static_cast<size_t>(i)] = px[i] > lo;
                }
                partial[static_cast<size_t>(k)] = acc;
            }
        });
        pass_inside(x, gy, inside);
        add_channel_sums(chunks, partial, alpha);
    });
}

}  // namespace tern::nn
