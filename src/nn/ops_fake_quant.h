#pragma once
// Fake quantization for quantization-aware training: the forward rounds to the
// integer grid and back (what the integer model will compute), the backward is
// a straight-through estimator. Scales are per tensor (one element) or per
// channel along dim 0 (a weight's output channels: one element per row).
//   STE   fixed scale / zero point (observer-driven), gradient 1 inside the grid.
//   LSQ   learned step size (Esser et al. 2020), its gradient scaled by g.
//   PACT  learned clip alpha (Choi et al. 2018), grid alpha / levels.
#include <cstdint>

#include "nn/autograd.h"

namespace tern::nn {

struct QuantGrid {
    int64_t qmin = 0, qmax = 255;
};
// bits in [2, 8]: signed [-2^(b-1), 2^(b-1) - 1], unsigned [0, 2^b - 1].
QuantGrid quant_grid(int bits, bool is_signed);

// y = (clamp(round(x / scale) + zp, qmin, qmax) - zp) * scale, rounding half to
// even as PyTorch's fake_quantize_per_*_affine; dx = dy where the unclamped
// code lies in [qmin, qmax]. scale, zero_point: 1 or x.dim(0) elements.
Var fake_quant_ste(const Var& x, const Tensor& scale, const Tensor& zero_point, QuantGrid g);

// LSQ: y = round(clamp(x / s, qmin, qmax)) * s; dx = dy inside the grid;
// ds = grad_scale * sum dy * (round(v) - v inside, qmin below, qmax above).
// The paper's grad_scale is 1 / sqrt(elements per scale * qmax).
Var fake_quant_lsq(const Var& x, const Var& scale, QuantGrid g, float grad_scale);

// PACT: y = clamp(x, lo, alpha) on the grid alpha / n, lo = 0 and n = 2^b - 1
// (unsigned) or lo = -alpha and n = 2^(b-1) - 1 (signed, for inputs that go
// negative); dx = dy inside (lo, alpha); dalpha = sum dy above alpha (minus the
// sum below -alpha when signed). alpha: one element.
Var fake_quant_pact(const Var& x, const Var& alpha, int bits, bool is_signed);

}  // namespace tern::nn
