#pragma once
// The nn module an Arch describes: a MobileNetV2 with the zoo's parameter names
// (stem, stem_bn, blocks.N.{expand,dw,project}..., head, head_bn, classifier),
// so a found model is an ordinary classifier file.
#include <functional>
#include <memory>
#include <string>

#include "nas/arch.h"
#include "nn/models/mobilenetv2.h"

namespace tern::nas {

// The zoo's MobileNetV2 with one explicit entry per block (so export to ONNX and
// every tool that knows mobilenetv2_tiny take it as it is).
nn::models::MobileNetV2Config arch_config(const Arch& a);

// The network's forward, showing every pre-activation (what each ReLU6 sees)
// to `observe`; NASWOT reads their on/off codes.
nn::Var forward_observed(nn::models::MobileNetV2& m, const nn::Var& x, const std::function<void(const nn::Var&)>& observe);

// "nas:" followed by the architecture's compact JSON: the zoo name a found
// model is saved under (tern.model) and rebuilt from.
constexpr const char* kModelPrefix = "nas:";
std::string model_name(const Arch& a);
// Throws InputError("model", ...) when the name's architecture is malformed.
Arch arch_from_model_name(const std::string& name);

std::shared_ptr<nn::models::MobileNetV2> build_model(const Arch& a, uint64_t seed, int64_t in_channels = 1, int64_t num_classes = 10);

// Lets nn::models::make_model (and so every model-file loader: tern eval,
// bench, quantize, prune) build "nas:" models. Idempotent; tern's main calls it.
void register_model_family();

}  // namespace tern::nas
