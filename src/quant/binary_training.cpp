#include "quant/binary_training.h"

#include <filesystem>

#include "core/error.h"
#include "io/safetensors.h"
#include "nn/modules/binary_layer.h"
#include "nn/train/checkpoint.h"
#include "nn/train/model_file.h"

namespace tern::quant {

using nn::train::Recipe;

void check_binary_recipe(const Recipe& r) {
    if (!r.has_binary) return;
    const auto f = nn::train::load_init_classifier(r.init, r.model, r.source);
    for (const char* key : {"tern.qat", "tern.binary"})
        if (f.metadata.count(key))
            throw InputError(r.source, "key 'init': '" + r.init + "' is already a quantized model (" + key +
                                           "); start from an fp32 one");
}

std::string binary_summary(const nn::train::BinaryRecipe& b) {
    const std::string first_last = b.keep_first_last ? ", first and last layer f32" : ", every layer";
    if (b.method == "bwn") return "bwn (binary weights x per-channel alpha" + first_last + ")";
    if (b.method == "xnor") return "xnor (binary weights and inputs, per-channel alpha, per-sample beta" + first_last + ")";
    if (b.method == "twn") return format("twn (ternary weights, delta %g x mean|w|, per-channel alpha", b.threshold) + first_last + ")";
    return format("ttq (ternary weights, delta %g x max|w|, learned wp / wn per layer", b.threshold) + first_last + ")";
}

BinaryRun run_binary_training(const Recipe& r, const nn::train::RunOptions& o) {
    check_binary_recipe(r);
    BinaryRun res;
    {
        const auto init = nn::train::load_classifier(r.init);
        if (auto it = init.metadata.find("tern.test_accuracy"); it != init.metadata.end()) {
            try {
                res.init_test_accuracy = std::stod(it->second);
            } catch (const std::exception&) {
            }
        }
    }
    res.run = nn::train::run(r, {}, o);
    const auto out = nn::train::load_classifier(r.output);
    for (const auto& [name, layer] : nn::binary_layers(*out.model)) res.layers.push_back(name);
    res.file_bytes = static_cast<int64_t>(std::filesystem::file_size(r.output));
    // The f32 size from a file, not arithmetic: the same tensors unpacked, metadata dropped of tern.binary.
    auto meta = out.metadata;
    meta.erase("tern.binary");
    const auto bytes = io::safetensors_to_bytes(nn::train::module_state(*out.model), meta);
    res.f32_file_bytes = static_cast<int64_t>(bytes.size());
    return res;
}

}  // namespace tern::quant
