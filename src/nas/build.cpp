#include "nas/build.h"

#include "core/error.h"
#include "nn/models/zoo.h"
#include "nn/ops.h"

namespace tern::nas {

using nn::Var;

nn::models::MobileNetV2Config arch_config(const Arch& a) {
    validate_arch(a, "architecture");
    nn::models::MobileNetV2Config c;
    c.stem_channels = scaled_channels(a.stem, a.width);
    c.head_channels = scaled_channels(a.head, a.width);
    for (const StageArch& s : a.stages)
        for (size_t b = 0; b < s.blocks.size(); ++b)
            c.blocks.push_back({s.blocks[b].expansion, scaled_channels(s.channels, a.width), b == 0 ? s.stride : 1,
                                s.blocks[b].kernel});
    return c;
}

Var forward_observed(nn::models::MobileNetV2& m, const Var& x, const std::function<void(const Var&)>& observe) {
    auto act = [&](const Var& pre) {
        observe(pre);
        return nn::relu6(pre);
    };
    Var h = act(m.stem_bn->forward(m.stem->forward(x)));
    for (size_t i = 0; i < m.blocks->size(); ++i) {  // InvertedResidual::forward, unrolled to see its activations
        auto& b = dynamic_cast<nn::models::InvertedResidual&>((*m.blocks)[i]);
        Var y = h;
        if (b.expand) y = act(b.expand_bn->forward(b.expand->forward(y)));
        y = act(b.dw_bn->forward(b.dw->forward(y)));
        y = b.project_bn->forward(b.project->forward(y));
        h = b.residual ? nn::add(h, y) : y;
    }
    h = act(m.head_bn->forward(m.head->forward(h)));
    return m.classifier->forward(nn::global_avg_pool2d(h));
}

std::string model_name(const Arch& a) { return kModelPrefix + arch_to_string(a); }

Arch arch_from_model_name(const std::string& name) {
    if (name.rfind(kModelPrefix, 0) != 0) throw InputError("model", "'" + name + "' is not a nas: model name");
    return parse_arch(name.substr(std::string(kModelPrefix).size()), "model");
}

std::shared_ptr<nn::models::MobileNetV2> build_model(const Arch& a, uint64_t seed, int64_t in_channels, int64_t num_classes) {
    return std::make_shared<nn::models::MobileNetV2>(arch_config(a), in_channels, num_classes, seed);
}

void register_model_family() {
    nn::models::register_model_family(kModelPrefix, [](const std::string& name, uint64_t seed, int64_t in_channels,
                                                       int64_t num_classes) -> std::shared_ptr<nn::UnaryModule> {
        return build_model(arch_from_model_name(name), seed, in_channels, num_classes);
    });
}

}  // namespace tern::nas
