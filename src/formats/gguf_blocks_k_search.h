#pragma once
// Scale searches used by the K-quant reference quantizers (internal to
// formats/gguf_blocks_k*.cpp). Each follows the algorithm of the same-named
// ggml helper so that the chosen scales, and hence the bytes, are identical.
#include <cstdint>

namespace tern::gguf_k {

// Groups whose largest |x| is below this are treated as all zero.
inline constexpr float kGroupMaxEps = 1e-15f;

// Symmetric quantization of n values to [-nmax, nmax-1] (stored as l + nmax in
// L). Starts from the scale that maps the max-|x| element to -nmax, then tries
// 18 nearby scales, keeping the one with the best weighted least-squares fit
// (weights x^2 when `weights` is null). Returns the scale.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, const float* weights);

// Like make_qx_quants for q3_K: x^2-weighted least squares refined by
// coordinate descent over single quants (up to 5 sweeps). L gets l + nmax.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L);

// Asymmetric quantization x ~ scale * L - min with L in [0, nmax]. Sweeps
// nstep+1 candidate inverse scales (nmax + rmin + rdelta*is) / (max - min) and
// for each solves the weighted 2-parameter least squares for (scale, min),
// keeping the best by weighted squared (or absolute, use_mad) error. Stores
// -min in *the_min (a non-negative offset). Laux is n bytes of scratch.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);

// Quantizes n non-negative values (sub-block scales or mins) to [0, nmax]
// against one scale: 8 nearby inverse scales by weighted squared error, then
// coordinate descent over single codes (up to 5 sweeps) on the weighted fit.
// llama.cpp's imatrix K-quants use it with each sub-block's summed weights.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* weights);

}  // namespace tern::gguf_k
