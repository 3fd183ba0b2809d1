#include "nn/train/model_file.h"

#include <filesystem>

#include "core/error.h"
#include "formats/nonfinite_scan.h"
#include "io/safetensors.h"
#include "io/shared_weights.h"
#include "nn/models/conv_bn_pairs.h"
#include "nn/models/zoo.h"
#include "nn/modules/fake_quant.h"
#include "nn/train/binary_file.h"
#include "nn/train/checkpoint.h"

namespace tern::nn::train {

ClassifierFile load_classifier(const std::string& path, const ClassifierLoadOptions& options) {
    const io::SafetensorsModel f = io::read_safetensors(path);
    ClassifierFile c;
    c.metadata.insert(f.infos.at(0).metadata.begin(), f.infos.at(0).metadata.end());
    auto it = c.metadata.find("tern.model");
    if (it == c.metadata.end()) throw InputError(path, "not a tern classifier (no tern.model in __metadata__)");
    c.model_name = it->second;
    if (!models::has_model(c.model_name))
        throw InputError(path, "unknown model '" + c.model_name + "' in tern.model metadata");
    auto num = [&](const char* key, int64_t def) {
        auto k = c.metadata.find(key);
        if (k == c.metadata.end()) return def;
        // These size the model before its tensors are checked: bounded, so a
        // crafted file cannot make it allocate gigabytes first.
        const int64_t most = std::string(key) == "tern.in_channels" ? 16 : 100000;
        int64_t v = 0;
        try {
            v = static_cast<int64_t>(std::stoll(k->second));
        } catch (const std::exception&) {
        }
        if (v < 1 || v > most)
            throw InputError(path, std::string("bad ") + key + " metadata '" + k->second + "' (expected 1.." +
                                       std::to_string(most) + ")");
        return v;
    };
    if (!options.allow_nonfinite)
        for (const auto& t : f.tensors) require_finite_tensor(t.tensor, path, t.name, "; --allow-nonfinite loads it anyway");
    const int64_t in_channels = num("tern.in_channels", 1), num_classes = num("tern.num_classes", 10);
    try {
        c.model = models::make_model(c.model_name, 0, in_channels, num_classes);
    } catch (const InputError& e) {  // a model family's name that does not parse (e.g. a bad "nas:" architecture)
        throw InputError(path, "tern.model metadata: " + e.detail());
    }
    // A QAT model: the same quantizers, whose scales are tensors of the file.
    if (auto q = c.metadata.find("tern.qat"); q != c.metadata.end()) {
        const FakeQuantSpec spec = parse_fake_quant_spec(q->second, path);
        attach_fake_quant(*c.model, spec);
        if (spec.fold_bn) models::fold_batch_norms_into_quantizers(*c.model, path);
    }
    // A weight-shared (K-means) file: its codebooks and code streams become F32 tensors here.
    std::vector<NamedTensor> tensors = f.tensors;
    if (auto k = c.metadata.find(io::kCompressionKey); k != c.metadata.end()) {
        if (c.metadata.count("tern.binary"))
            throw InputError(path, "holds both tern.binary and " + std::string(io::kCompressionKey) + " metadata");
        std::map<std::string, Shape> shapes;
        for (const auto& [name, v] : c.model->named_parameters()) shapes[name] = v.shape();
        io::decode_shared_weights(tensors, k->second, path, [&](const std::string& name) -> const Shape* {
            auto s = shapes.find(name);
            return s == shapes.end() ? nullptr : &s->second;
        });
    }
    // A binary / ternary model: its layers' weights are packed (nn/train/binary_file.h).
    if (auto b = c.metadata.find("tern.binary"); b != c.metadata.end()) {
        if (c.metadata.count("tern.qat")) throw InputError(path, "holds both tern.qat and tern.binary metadata");
        BinarySpec spec = parse_binary_spec(b->second, path);
        attach_binarizers(*c.model, spec, path);
        load_module_state(*c.model, unpack_binary_tensors(tensors, spec, *c.model, path), path);
    } else {
        load_module_state(*c.model, tensors, path);
    }
    if (c.metadata.count("tern.qat") || c.metadata.count("tern.binary")) check_fake_quant_scales(*c.model, path);
    c.model->eval();
    return c;
}

ClassifierFile load_init_classifier(const std::string& init, const std::string& model, const std::string& source) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(init, ec))
        throw InputError(source, "key 'init': no classifier file '" + init + "'");
    ClassifierFile f = load_classifier(init);
    if (f.model_name != model)
        throw InputError(source, "key 'init': '" + init + "' holds model '" + f.model_name + "', the recipe trains '" +
                                     model + "'");
    return f;
}

void save_classifier(const std::string& path, const Module& model, const std::map<std::string, std::string>& metadata) {
    if (!metadata.count("tern.model")) throw Error(path, "classifier metadata needs tern.model");
    auto b = metadata.find("tern.binary");
    if (b == metadata.end()) return io::write_safetensors(path, module_state(model), metadata);
    io::write_safetensors(path, pack_binary_tensors(module_state(model), parse_binary_spec(b->second, path)), metadata);
}

}  // namespace tern::nn::train
