#include "nn/models/zoo.h"

#include "core/error.h"
#include "nn/models/lenet.h"
#include "nn/models/mobilenetv2.h"
#include "nn/models/pruned.h"

namespace tern::nn::models {

const std::vector<ModelInfo>& model_list() {
    static const std::vector<ModelInfo> list = {
        {"lenet300", "MLP 784-300-100-10, ReLU"},
        {"lenet5", "conv 6@5x5 pad 2 - pool - conv 16@5x5 - pool - fc 120 - fc 84 - fc 10, ReLU"},
        {"lenet5_bn", "lenet5 with batch norm after each convolution"},
        {"mobilenetv2_tiny", "MobileNetV2-style: stem 16, inverted residuals (t=4) 16-24-32-64, head 128, ReLU6, BN"},
    };
    return list;
}

namespace {

std::vector<std::pair<std::string, ModelFactory>>& families() {
    static std::vector<std::pair<std::string, ModelFactory>> list;
    return list;
}

const ModelFactory* family_of(const std::string& name) {
    for (const auto& [prefix, factory] : families())
        if (name.rfind(prefix, 0) == 0) return &factory;
    return nullptr;
}

}  // namespace

void register_model_family(const std::string& prefix, ModelFactory factory) {
    for (auto& f : families())
        if (f.first == prefix) {
            f.second = std::move(factory);
            return;
        }
    families().emplace_back(prefix, std::move(factory));
}

bool has_model(const std::string& name) {
    if (family_of(name) || name.rfind(kPrunedPrefix, 0) == 0) return true;
    for (const auto& m : model_list())
        if (m.name == name) return true;
    return false;
}

std::shared_ptr<UnaryModule> make_model(const std::string& name, uint64_t seed, int64_t in_channels,
                                        int64_t num_classes) {
    if (const ModelFactory* family = family_of(name)) return (*family)(name, seed, in_channels, num_classes);
    if (name.rfind(kPrunedPrefix, 0) == 0)  // channel-pruned zoo models: widths in the name
        return make_pruned_model(pruned_arch_of(name), seed, in_channels, num_classes);
    if (name == "lenet300") return std::make_shared<LeNet300>(in_channels * 28 * 28, num_classes, seed);
    if (name == "lenet5") return std::make_shared<LeNet5>(in_channels, num_classes, false, seed);
    if (name == "lenet5_bn") return std::make_shared<LeNet5>(in_channels, num_classes, true, seed);
    if (name == "mobilenetv2_tiny")
        return std::make_shared<MobileNetV2>(mobilenetv2_tiny_config(), in_channels, num_classes, seed);
    std::string known;
    for (const auto& m : model_list()) known += (known.empty() ? "" : ", ") + m.name;
    throw InputError("model", "unknown model '" + name + "' (known: " + known + ")");
}

}  // namespace tern::nn::models
