#include "nn/models/pruned.h"

#include <algorithm>

#include "core/error.h"
#include "nn/models/lenet.h"
#include "nn/models/mobilenetv2.h"

namespace tern::nn::models {
namespace {

// mobilenetv2_tiny's stage table as one entry per block.
std::vector<MobileNetV2Config::Block> tiny_blocks() {
    std::vector<MobileNetV2Config::Block> list;
    for (const auto& s : mobilenetv2_tiny_config().stages)
        for (int64_t r = 0; r < s.repeats; ++r) list.push_back({s.expansion, s.channels, r == 0 ? s.stride : 1, 3});
    return list;
}

}  // namespace

bool is_prunable_base(const std::string& base) {
    return base == "lenet300" || base == "lenet5" || base == "lenet5_bn" || base == "mobilenetv2_tiny";
}

std::vector<std::string> width_names(const std::string& base) {
    if (base == "lenet300") return {"fc1", "fc2"};
    if (base == "lenet5" || base == "lenet5_bn") return {"conv1", "conv2", "fc1", "fc2"};
    if (base == "mobilenetv2_tiny") {
        std::vector<std::string> names;
        const auto blocks = tiny_blocks();
        for (size_t i = 0; i < blocks.size(); ++i)
            if (blocks[i].expansion != 1) names.push_back("blocks." + std::to_string(i) + ".hidden");
        names.push_back("head");
        return names;
    }
    throw InputError("model", "channel pruning knows lenet300, lenet5, lenet5_bn and mobilenetv2_tiny, not '" + base + "'");
}

std::vector<int64_t> full_widths(const std::string& base) {
    if (base == "lenet300") return {300, 100};
    if (base == "lenet5" || base == "lenet5_bn") return {6, 16, 120, 84};
    if (base == "mobilenetv2_tiny") {
        std::vector<int64_t> w;
        int64_t in = mobilenetv2_tiny_config().stem_channels;
        for (const auto& b : tiny_blocks()) {
            if (b.expansion != 1) w.push_back(in * b.expansion);
            in = b.channels;
        }
        w.push_back(mobilenetv2_tiny_config().head_channels);
        return w;
    }
    width_names(base);  // throws naming the known bases
    return {};
}

std::string pruned_model_name(const PrunedArch& a) {
    std::string s = std::string(kPrunedPrefix) + a.base + ":";
    for (size_t i = 0; i < a.widths.size(); ++i) s += (i ? "," : "") + std::to_string(a.widths[i]);
    return s;
}

PrunedArch pruned_arch_of(const std::string& name) {
    if (name.rfind(kPrunedPrefix, 0) != 0) {
        if (!is_prunable_base(name)) width_names(name);  // throws
        return {name, full_widths(name)};
    }
    const std::string rest = name.substr(std::string(kPrunedPrefix).size());
    const size_t colon = rest.find(':');
    if (colon == std::string::npos)
        throw InputError("model", "'" + name + "' is not pruned:BASE:W1,W2,... (no widths)");
    PrunedArch a{rest.substr(0, colon), {}};
    const std::vector<int64_t> full = full_widths(a.base);
    const std::string list = rest.substr(colon + 1);
    size_t pos = 0;
    while (pos <= list.size()) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        const std::string item = list.substr(pos, comma - pos);
        const size_t i = a.widths.size();
        if (item.empty() || item.size() > 6 || item.find_first_not_of("0123456789") != std::string::npos)
            throw InputError("model", "'" + name + "': width " + std::to_string(i + 1) + " '" + item + "' is not a number");
        const int64_t w = std::stoll(item);
        if (i < full.size() && (w < 1 || w > full[i]))
            throw InputError("model", "'" + name + "': " + width_names(a.base)[i] + " width " + item + " is outside 1.." +
                                          std::to_string(full[i]));
        a.widths.push_back(w);
        pos = comma + 1;
    }
    if (a.widths.size() != full.size())
        throw InputError("model", "'" + name + "': " + a.base + " has " + std::to_string(full.size()) +
                                      " prunable widths, the name gives " + std::to_string(a.widths.size()));
    return a;
}

std::shared_ptr<UnaryModule> make_pruned_model(const PrunedArch& a, uint64_t seed, int64_t in_channels,
                                               int64_t num_classes) {
    const auto& w = a.widths;
    if (a.base == "lenet300") return std::make_shared<LeNet300>(in_channels * 28 * 28, num_classes, seed, w[0], w[1]);
    if (a.base == "lenet5" || a.base == "lenet5_bn")
        return std::make_shared<LeNet5>(in_channels, num_classes, a.base == "lenet5_bn", seed,
                                        LeNet5Widths{w[0], w[1], w[2], w[3]});
    MobileNetV2Config c = mobilenetv2_tiny_config();
    c.blocks = tiny_blocks();
    size_t k = 0;
    for (auto& b : c.blocks)
        if (b.expansion != 1) b.hidden = w[k++];
    c.head_channels = w[k];
    return std::make_shared<MobileNetV2>(c, in_channels, num_classes, seed);
}

int64_t pruned_macs(const PrunedArch& a, int64_t in_channels, int64_t num_classes) {
    const auto& w = a.widths;
    if (a.base == "lenet300") return in_channels * 784 * w[0] + w[0] * w[1] + w[1] * num_classes;
    if (a.base == "lenet5" || a.base == "lenet5_bn")
        return in_channels * w[0] * 25 * 28 * 28 + w[0] * w[1] * 25 * 10 * 10 + w[1] * 25 * w[2] + w[2] * w[3] +
               w[3] * num_classes;
    const MobileNetV2Config c = mobilenetv2_tiny_config();
    int64_t size = 28, in = c.stem_channels, k = 0;
    int64_t macs = in_channels * in * 9 * size * size;  // stem 3x3, stride 1
    for (const auto& b : tiny_blocks()) {
        const int64_t hidden = b.expansion != 1 ? w[k++] : in;
        if (b.expansion != 1) macs += in * hidden * size * size;  // 1x1 expand
        const int64_t out_size = (size + 2 * (b.kernel / 2) - b.kernel) / b.stride + 1;
        macs += hidden * b.kernel * b.kernel * out_size * out_size;  // depthwise
        size = out_size;
        macs += hidden * b.channels * size * size;  // 1x1 project
        in = b.channels;
    }
    macs += in * w[k] * size * size;  // 1x1 head
    return macs + w[k] * num_classes;
}

}  // namespace tern::nn::models
