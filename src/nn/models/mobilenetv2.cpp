#include "nn/models/mobilenetv2.h"

#include "nn/ops.h"

namespace tern::nn::models {

InvertedResidual::InvertedResidual(int64_t in_channels, int64_t out_channels, int64_t stride, int64_t expansion,
                                   uint64_t seed, int64_t kernel, int64_t hidden_width) {
    const int64_t hidden = hidden_width > 0 ? hidden_width : in_channels * expansion;
    // Biases are dropped before every batch norm: BN's beta plays that role.
    if (expansion != 1) {
        expand = register_module("expand", std::make_shared<Conv2d>(in_channels, hidden, Conv2dOptions{1, 1, 0, 1, 1, false},
                                                                    child_seed(seed, 1)));
        expand_bn = register_module("expand_bn", std::make_shared<BatchNorm2d>(hidden));
    }
    dw = register_module("dw", std::make_shared<DepthwiseConv2d>(hidden, kernel, stride, kernel / 2, false, child_seed(seed, 2)));
    dw_bn = register_module("dw_bn", std::make_shared<BatchNorm2d>(hidden));
    project = register_module("project", std::make_shared<Conv2d>(hidden, out_channels, Conv2dOptions{1, 1, 0, 1, 1, false},
                                                                  child_seed(seed, 3)));
    project_bn = register_module("project_bn", std::make_shared<BatchNorm2d>(out_channels));
    residual = stride == 1 && in_channels == out_channels;
}

Var InvertedResidual::forward(const Var& x) {
    Var h = x;
    if (expand) h = relu6(expand_bn->forward(expand->forward(h)));
    h = relu6(dw_bn->forward(dw->forward(h)));
    h = project_bn->forward(project->forward(h));  // linear bottleneck: no activation
    return residual ? add(x, h) : h;
}

MobileNetV2Config mobilenetv2_tiny_config() {
    MobileNetV2Config c;
    c.stem_channels = 16;
    c.stages = {{1, 16, 1, 1}, {4, 24, 2, 2}, {4, 32, 2, 2}, {4, 64, 2, 1}};
    c.head_channels = 128;
    return c;
}

MobileNetV2::MobileNetV2(const MobileNetV2Config& cfg, int64_t in_channels, int64_t num_classes, uint64_t seed) {
    stem = register_module("stem", std::make_shared<Conv2d>(in_channels, cfg.stem_channels,
                                                            Conv2dOptions{3, 1, 1, 1, 1, false}, child_seed(seed, 1)));
    stem_bn = register_module("stem_bn", std::make_shared<BatchNorm2d>(cfg.stem_channels));
    blocks = register_module("blocks", std::make_shared<Sequential>());
    int64_t channels = cfg.stem_channels;
    uint64_t index = 0;
    std::vector<MobileNetV2Config::Block> list = cfg.blocks;
    if (list.empty())
        for (const auto& s : cfg.stages)
            for (int64_t r = 0; r < s.repeats; ++r) list.push_back({s.expansion, s.channels, r == 0 ? s.stride : 1, 3});
    for (const auto& b : list) {
        blocks->add(std::make_shared<InvertedResidual>(channels, b.channels, b.stride, b.expansion,
                                                       child_seed(seed, 100 + index++), b.kernel, b.hidden));
        channels = b.channels;
    }
    head = register_module("head", std::make_shared<Conv2d>(channels, cfg.head_channels, Conv2dOptions{1, 1, 0, 1, 1, false},
                                                            child_seed(seed, 2)));
    head_bn = register_module("head_bn", std::make_shared<BatchNorm2d>(cfg.head_channels));
    classifier = register_module("classifier", std::make_shared<Linear>(cfg.head_channels, num_classes, true, child_seed(seed, 3)));
}

Var MobileNetV2::forward(const Var& x) {
    Var h = relu6(stem_bn->forward(stem->forward(x)));
    h = blocks->forward(h);
    h = relu6(head_bn->forward(head->forward(h)));
    return classifier->forward(global_avg_pool2d(h));
}

}  // namespace tern::nn::models
