#pragma once
// Quantization-aware training inside nn: a LayerFakeQuant attached to a Conv2d
// or Linear fake-quantizes its weight (per output channel or per tensor) and
// its input (per tensor) on every forward. Its scales are parameters or
// buffers of the model ("<layer>.qat.weight_scale"), so checkpoints and model
// files carry them, and a classifier file whose metadata holds "tern.qat" is
// rebuilt with the same quantizers (tern eval reproduces the fake-quant
// accuracy). How the scales start (calibration) and the training run live in
// quant/qat_*; this is only the model side.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nn/modules/module.h"
#include "nn/ops.h"
#include "nn/ops_fake_quant.h"

namespace tern::nn {

struct FakeQuantSpec {
    std::string method = "lsq";  // "ste" (observer-driven) | "lsq" | "pact"
    int weight_bits = 4, act_bits = 8;
    bool per_channel = true;  // weights: one scale per output channel
    // Conv weights are fake-quantized with the following BatchNorm folded in
    // (w * gamma / sigma_running, Krishnamoorthi 2018), so the trained grid is the deployed one.
    bool fold_bn = false;
};
// The spec as the JSON the "tern.qat" metadata holds, and back (InputError(where)
// naming a bad method or bit-width).
std::string fake_quant_spec_json(const FakeQuantSpec& s);
FakeQuantSpec parse_fake_quant_spec(const std::string& json, const std::string& where);

class BatchNorm2d;

class LayerFakeQuant : public Module {
public:
    LayerFakeQuant(const FakeQuantSpec& spec, int64_t out_channels);
    virtual Var weight(const Var& w);  // the fake-quantized weight (w itself while calibrating)
    virtual Var input(const Var& x);   // the fake-quantized input (x itself while calibrating)
    // The whole Linear forward when the quantizer runs it by a kernel of its own; nullopt: linear(input, weight).
    virtual std::optional<Var> linear(const Var&, const Var&, const Var&) { return std::nullopt; }
    // The whole Conv2d forward when the following BatchNorm is folded (folded_bn set):
    // conv(q(x), q(w * f)) / f + b with f = gamma / sqrt(running_var + eps) per output
    // channel, so the BatchNorm after it (batch statistics while training, running
    // ones once frozen) sees the float conv's scale. f is a constant here: gamma
    // learns through the BatchNorm itself (the factor's own gradient is dropped).
    std::optional<Var> conv(const Var& x, const Var& w, const Var& b, const Conv2dParams& p);
    BatchNorm2d* folded_bn = nullptr;  // set by nn/models/conv_bn_pairs.h for fold_bn specs
    // w * f per output channel when a BatchNorm is folded, else w: what weight() quantizes.
    Tensor folded_weight(const Tensor& w) const;
    std::vector<float> bn_factor() const;  // f per output channel (folded_bn must be set)

    // Scales from data: the weight's (MSE-optimal clip per channel) and, from
    // what input() recorded while `calibrating`, the input's. Throws when the
    // recorded inputs are empty or not finite.
    void init_weight_scale(const Tensor& w);
    void finish_calibration(const std::string& layer);

    // What an integer export needs, in eval mode: the weight's step per output
    // channel (or one) that weight(w) rounds to, and the input's grid: x maps
    // to clamp(round(x / scale) + zero_point, code_min, code_max).
    Tensor weight_steps(const Tensor& w) const;
    struct InputGrid {
        float scale = 1;
        int32_t zero_point = 0, code_min = 0, code_max = 255;
        bool is_signed = false;  // codes are int8 (else uint8)
    };
    InputGrid input_grid() const;

    FakeQuantSpec spec;
    bool calibrating = false;
    std::vector<float> recorded;  // a strided sample of the inputs seen while calibrating

    Var weight_scale;  // lsq: learned, (out_channels) or (1); ste / pact: derived from max |w| per forward
    Var act_scale;     // lsq: learned step (1)
    Var act_alpha;     // pact: learned clip (1)
    Tensor act_signed; // (1): 1 when calibration saw negative inputs (signed grid)
    Tensor act_range;  // ste: (2) moving-average min and max of the inputs

protected:
    LayerFakeQuant() = default;  // binary / ternary layers (nn/modules/binary_layer.h) bring their own state

private:
    Tensor ste_weight_scale(const Tensor& w) const;
};

// The smallest learned scale keep_scales_positive leaves: far below any step a
// trained layer uses, and x / scale stays finite for every float x that matters.
inline constexpr float kMinLearnedScale = 1e-6f;

// Attaches a LayerFakeQuant to every Conv2d and Linear under `model`; returns
// how many. Throws Error when the model has none or already has quantizers.
int64_t attach_fake_quant(Module& model, const FakeQuantSpec& spec);
// InputError(where) naming the first learned scale / clip that is not finite
// and > 0 (a file's tensors can hold anything; the ops would refuse it mid-run).
void check_fake_quant_scales(Module& model, const std::string& where);
// Raises every learned scale / clip below `floor` to it; returns how many. An
// optimizer step can overshoot a small scale (Adam moves each by about lr
// whatever its gradient: lr 1e-3 against a 4-bit weight step of 3e-4), and a
// scale of zero or less has no grid. The trainers call it after every step.
int64_t keep_scales_positive(Module& model, float floor = kMinLearnedScale);
// (dotted layer name, quantizer) of every attached quantizer, in model order.
std::vector<std::pair<std::string, LayerFakeQuant*>> fake_quant_layers(Module& model);
// Calls fn(dotted name, module) on `model` and everything under it, parents first.
void visit_modules(Module& model, const std::function<void(const std::string&, Module&)>& fn);

}  // namespace tern::nn
