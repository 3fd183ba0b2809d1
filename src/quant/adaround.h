#pragma once
// AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training
// Quantization"): instead of rounding each weight to the nearest grid point,
// learn per weight whether to round down or up so that the layer's output on
// calibration inputs is reconstructed best.
//
// Soft code of weight w with scale s: floor(w/s) + h(V), h(V) =
// clip(sigmoid(V) (zeta - gamma) + gamma, 0, 1) (rectified sigmoid, zeta 1.1,
// gamma -0.1), V initialised so that h(V) = w/s - floor(w/s). Minimised with Adam:
//   rec(V) + lambda * sum(1 - |2 h(V) - 1|^beta)   (regularizer off during warm-up,
//                                                   beta annealed 20 -> 2 after it)
// rec = mean over input rows x of sum over output channels (w~ . x_q - w . x_f)^2,
// x_q the layer's input with the preceding layers quantized, x_f the fp32 input
// (asymmetric reconstruction; x_q = x_f gives the symmetric one). rec is
// quadratic in w~, so only the Gram matrices E[x_q x_q^T], E[x_q x_f^T],
// E[x_f x_f^T] of the (subsampled) rows are kept. Then hard rounding: up where V >= 0.
#include <cstdint>
#include <vector>

namespace tern::quant {

struct AdaroundOptions {
    int iterations = 1000;
    float learning_rate = 1e-2f;  // Adam on V (few iterations: the paper's 1e-3 over 10k+ barely moves V)
    float lambda = 0.01f;         // regularizer weight
    float beta_start = 20, beta_end = 2;
    float warmup = 0.2f;          // share of iterations with the regularizer off
    float zeta = 1.1f, gamma = -0.1f;
};

// One layer's problem. Output channel o has K weights in row o of `weights`
// (channels, K) and reads the inputs of group o / (channels / groups): a
// grouped / depthwise conv is `groups` independent problems.
struct AdaroundLayer {
    int64_t channels = 0, k = 0, groups = 1;
    std::vector<float> weights;  // (channels, K)
    std::vector<float> scales;   // (channels) grid step, > 0
    int qmax = 7;                // codes in [-qmax, qmax]
    // (groups, K, K) each: E[x_q x_q^T], E[x_q x_f^T], E[x_f x_f^T] over the rows.
    std::vector<double> gram_qq, gram_qf, gram_ff;
};

// Accumulates the three Gram matrices of one group from paired rows (rows, K)
// of quantized-path and fp32 inputs; divide by the row count with finish_gram.
void add_gram_rows(AdaroundLayer& layer, int64_t group, const float* x_q, const float* x_f, int64_t rows);
void finish_gram(AdaroundLayer& layer, int64_t rows_per_group);

struct AdaroundResult {
    std::vector<int8_t> codes;      // (channels, K) in [-qmax, qmax]
    std::vector<float> soft;        // (channels, K) h(V) at the end, before hard rounding
    std::vector<float> loss;        // total loss (rec + regularizer term) at each iteration, before its step
    double rec_nearest = 0, rec_adaround = 0;  // rec of round-to-nearest codes and of the returned codes
};

// UsageError for options out of range (iterations < 1, ...); InputError for
// inconsistent sizes or a non-positive scale.
AdaroundResult adaround(const AdaroundLayer& layer, const AdaroundOptions& options = {});

// rec of the given codes (channels, K): mean over rows of the summed squared output error.
double reconstruction_error(const AdaroundLayer& layer, const std::vector<int8_t>& codes);

// Round-to-nearest codes clamped to [-qmax, qmax].
std::vector<int8_t> nearest_codes(const AdaroundLayer& layer);

}  // namespace tern::quant
