#pragma once
// An nn module built from an Arch, with the same parameter names as the zoo's
// mobilenetv2_tiny (stem, stem_bn, blocks.N.{expand,dw,project}..., head,
// head_bn, classifier), so a found model is an ordinary classifier file.
#include <functional>
#include <memory>
#include <string>

#include "nas/arch.h"
#include "nn/models/mobilenetv2.h"

namespace tern::nas {

class NasNet : public nn::UnaryModule {
public:
    NasNet(const Arch& arch, int64_t in_channels, int64_t num_classes, uint64_t seed);
    nn::Var forward(const nn::Var& x) override;
    // The same forward, showing every pre-activation (what the ReLU6 units see)
    // to `observe`; NASWOT reads their on/off codes.
    nn::Var forward_observed(const nn::Var& x, const std::function<void(const nn::Var&)>& observe);

    std::shared_ptr<nn::Conv2d> stem;
    std::shared_ptr<nn::BatchNorm2d> stem_bn;
    std::shared_ptr<nn::Sequential> blocks;
    std::shared_ptr<nn::Conv2d> head;
    std::shared_ptr<nn::BatchNorm2d> head_bn;
    std::shared_ptr<nn::Linear> classifier;
    std::vector<std::shared_ptr<nn::models::InvertedResidual>> block_list;
};

// "nas:" followed by the architecture's compact JSON: the zoo name a found
// model is saved under (tern.model) and rebuilt from.
constexpr const char* kModelPrefix = "nas:";
std::string model_name(const Arch& a);
// Throws InputError("model", ...) when the name's architecture is malformed.
Arch arch_from_model_name(const std::string& name);

std::shared_ptr<NasNet> build_model(const Arch& a, uint64_t seed, int64_t in_channels = 1, int64_t num_classes = 10);

// Lets nn::models::make_model (and so every model-file loader: tern eval,
// bench, quantize, prune) build "nas:" models. Idempotent; tern's main calls it.
void register_model_family();

}  // namespace tern::nas
