#include "quant/kmeans_model.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/output_path.h"
#include "io/safetensors.h"
#include "io/shared_weights.h"
#include "nn/train/checkpoint.h"
#include "nn/train/model_file.h"

namespace tern::quant {

std::vector<std::pair<std::string, nn::Var>> shared_weight_parameters(const nn::Module& model) {
    std::vector<std::pair<std::string, nn::Var>> out;
    for (const auto& [name, v] : model.named_parameters())
        if (v.rank() >= 2 && (name == "weight" || (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0)))
            out.emplace_back(name, v);
    return out;
}

std::vector<SharedCodebook> share_model_weights(nn::Module& model, int bits) {
    std::vector<SharedCodebook> books;
    for (auto& [name, v] : shared_weight_parameters(model)) {
        nn::Var w = v;
        books.push_back(kmeans_share({w.data(), static_cast<size_t>(w.numel())}, bits));
        const auto values = shared_values(books.back());
        std::copy(values.begin(), values.end(), w.data());
    }
    return books;
}

std::vector<KmeansLayerReport> save_shared_classifier(const std::string& path, const nn::Module& model,
                                                      std::map<std::string, std::string> metadata,
                                                      const KmeansOptions& o) {
    const auto shared = shared_weight_parameters(model);
    if (shared.empty()) throw InputError(path, "the model has no Linear or Conv weights to share");
    std::set<std::string> shared_names;
    std::vector<NamedTensor> tensors;
    std::vector<io::SharedWeightSpec> specs;
    std::vector<KmeansLayerReport> report;
    for (const auto& [name, v] : shared) {
        shared_names.insert(name);
        const SharedCodebook book = kmeans_share({v.data(), static_cast<size_t>(v.numel())}, o.bits);
        const int64_t nonzero = std::count_if(book.assignment.begin(), book.assignment.end(), [](int32_t a) { return a >= 0; });
        // A layer with zeros stores only its nonzero weights (with their gaps); a dense one a code for each.
        const bool sparse = nonzero < v.numel();
        std::vector<float> codebook = book.centroids;
        std::vector<int32_t> assignment = book.assignment;
        if (codebook.empty()) codebook.push_back(0.0f);  // every weight zero: one unused entry keeps the codebook well-formed
        auto e = io::encode_shared_weight(name, v.shape(), codebook, assignment, o.bits, sparse ? o.index_bits : 0, o.huffman);
        report.push_back({name, v.numel(), nonzero, static_cast<int>(book.centroids.size()), e.bytes()});
        specs.push_back(e.spec);
        for (auto& t : e.tensors) tensors.push_back(std::move(t));
    }
    for (auto& t : nn::train::module_state(model))
        if (!shared_names.count(t.name)) tensors.push_back(std::move(t));
    metadata[io::kCompressionKey] = io::shared_weights_metadata(specs);
    io::write_safetensors(path, tensors, metadata);
    return report;
}

KmeansFileResult kmeans_compress_file(const std::string& input, const std::string& output, const KmeansOptions& o) {
    check_output_path(output, {input});
    nn::train::ClassifierFile f = nn::train::load_classifier(input);
    KmeansFileResult r;
    share_model_weights(*f.model, o.bits);
    r.layers = save_shared_classifier(output, *f.model, f.metadata, o);
    r.bytes_before = std::filesystem::file_size(input);
    r.bytes_after = std::filesystem::file_size(output);
    return r;
}

}  // namespace tern::quant
