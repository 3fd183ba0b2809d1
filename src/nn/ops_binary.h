#pragma once
// Binary and ternary weights / activations for training binary networks. The
// forward returns the values the packed model computes with; the backward is a
// straight-through estimator. "Channel" is dim 0 (a weight's output channel),
// "sample" is dim 0 of an activation.
//   BWN / BinaryConnect (Rastegari et al. 2016): w_b = sign(w) * alpha_c,
//       alpha_c = mean |w| over channel c; sign(0) = +1.
//   XNOR-Net inputs: per sample c = x - mean(x), x_b = sign(c) * mean |c|
//       (the per-sample scale, not the per-position K map; centred because the
//       zoo models feed ReLU outputs, whose plain sign is constant +1).
//   TWN (Li et al. 2016): per channel delta = t * mean |w| (t = 0.7),
//       alpha = mean |w| over |w| > delta, w_t = alpha * {-1, 0, +1}.
//   TTQ (Zhu et al. 2017): delta = t * max |w| over the layer, w_t = +wp above
//       delta, -wn below -delta, else 0; wp, wn learned.
#include "nn/autograd.h"

namespace tern::nn {

// dw = dy * alpha * [|w| <= 1] + sgn(w) / n * sum_c(dy * sign(w)): the clipped
// STE through sign plus alpha's exact derivative (what autograd gives for
// sign_ste(w) * mean|w|).
Var binarize_weight(const Var& w);

// Per sample, with s = sign(c), beta = mean |c|, n features:
// dc = dy * beta * [|c| <= 1] + sgn(c) / n * sum(dy * s) (hardtanh STE), then
// dx = dc - mean(dc) (through the centring).
Var binarize_input(const Var& x);

// TWN: dw = dy (delta and alpha are constants of the step).
Var ternarize_twn(const Var& w, float threshold);

// TTQ: dw = wp * dy above delta, dy inside [-delta, delta], wn * dy below;
// dwp = sum dy over the positive codes, dwn = -sum dy over the negative ones.
// wp, wn: one element each, > 0.
Var ternarize_ttq(const Var& w, const Var& wp, const Var& wn, float threshold);

// The codes alone (-1, 0, +1), per element of w, as the two ternary ops choose them.
void twn_codes(const float* w, int64_t channels, int64_t inner, float threshold, int8_t* codes, float* alpha);
void ttq_codes(const float* w, int64_t n, float threshold, int8_t* codes);

}  // namespace tern::nn
