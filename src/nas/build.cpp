#include "nas/build.h"

#include "core/error.h"
#include "nn/models/zoo.h"
#include "nn/ops.h"

namespace tern::nas {

using nn::Var;

NasNet::NasNet(const Arch& arch, int64_t in_channels, int64_t num_classes, uint64_t seed) {
    validate_arch(arch, "architecture");
    const int64_t stem_c = scaled_channels(arch.stem, arch.width);
    stem = register_module("stem", std::make_shared<nn::Conv2d>(in_channels, stem_c, nn::Conv2dOptions{3, 1, 1, 1, 1, false},
                                                                nn::child_seed(seed, 1)));
    stem_bn = register_module("stem_bn", std::make_shared<nn::BatchNorm2d>(stem_c));
    blocks = register_module("blocks", std::make_shared<nn::Sequential>());
    int64_t channels = stem_c;
    uint64_t index = 0;
    for (const StageArch& s : arch.stages) {
        const int64_t out = scaled_channels(s.channels, arch.width);
        for (size_t b = 0; b < s.blocks.size(); ++b) {
            auto block = std::make_shared<nn::models::InvertedResidual>(channels, out, b == 0 ? s.stride : 1,
                                                                        s.blocks[b].expansion,
                                                                        nn::child_seed(seed, 100 + index++), s.blocks[b].kernel);
            blocks->add(block);
            block_list.push_back(block);
            channels = out;
        }
    }
    const int64_t head_c = scaled_channels(arch.head, arch.width);
    head = register_module("head", std::make_shared<nn::Conv2d>(channels, head_c, nn::Conv2dOptions{1, 1, 0, 1, 1, false},
                                                                nn::child_seed(seed, 2)));
    head_bn = register_module("head_bn", std::make_shared<nn::BatchNorm2d>(head_c));
    classifier = register_module("classifier", std::make_shared<nn::Linear>(head_c, num_classes, true, nn::child_seed(seed, 3)));
}

Var NasNet::forward(const Var& x) {
    Var h = nn::relu6(stem_bn->forward(stem->forward(x)));
    h = blocks->forward(h);
    h = nn::relu6(head_bn->forward(head->forward(h)));
    return classifier->forward(nn::global_avg_pool2d(h));
}

Var NasNet::forward_observed(const Var& x, const std::function<void(const Var&)>& observe) {
    auto act = [&](const Var& pre) {
        observe(pre);
        return nn::relu6(pre);
    };
    Var h = act(stem_bn->forward(stem->forward(x)));
    for (const auto& b : block_list) {  // InvertedResidual::forward, unrolled to see its activations
        Var y = h;
        if (b->expand) y = act(b->expand_bn->forward(b->expand->forward(y)));
        y = act(b->dw_bn->forward(b->dw->forward(y)));
        y = b->project_bn->forward(b->project->forward(y));
        h = b->residual ? nn::add(h, y) : y;
    }
    h = act(head_bn->forward(head->forward(h)));
    return classifier->forward(nn::global_avg_pool2d(h));
}

std::string model_name(const Arch& a) { return kModelPrefix + arch_to_string(a); }

Arch arch_from_model_name(const std::string& name) {
    if (name.rfind(kModelPrefix, 0) != 0) throw InputError("model", "'" + name + "' is not a nas: model name");
    return parse_arch(name.substr(std::string(kModelPrefix).size()), "model");
}

std::shared_ptr<NasNet> build_model(const Arch& a, uint64_t seed, int64_t in_channels, int64_t num_classes) {
    return std::make_shared<NasNet>(a, in_channels, num_classes, seed);
}

void register_model_family() {
    nn::models::register_model_family(kModelPrefix, [](const std::string& name, uint64_t seed, int64_t in_channels,
                                                       int64_t num_classes) -> std::shared_ptr<nn::UnaryModule> {
        return build_model(arch_from_model_name(name), seed, in_channels, num_classes);
    });
}

}  // namespace tern::nas
