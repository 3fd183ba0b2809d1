#include "prune/prune_file.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/output_path.h"
#include "formats/nonfinite_scan.h"
#include "io/gguf_reader.h"
#include "io/model_container.h"
#include "llm/hf_to_gguf.h"
#include "llm/model_check.h"

namespace tern::prune {
namespace {

enum class InputKind { llm_gguf, other };

// A GGUF tern's LLM runtime loads, or anything else (a classifier's
// safetensors, a foreign GGUF): the input's first bytes decide, not its name.
InputKind input_kind(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return InputKind::other;
    const auto bytes = MappedFile::open(path);
    io::detect_model_container(std::span<const uint8_t>(bytes->data(), bytes->size()), path);
    if (!io::looks_like_gguf(std::span<const uint8_t>(bytes->data(), std::min<size_t>(bytes->size(), 16))))
        return InputKind::other;
    llm::check_model_file(path);  // a GGUF that is not a model tern runs says why
    return InputKind::llm_gguf;
}

}  // namespace

PrunedModel prune_file(const PruneFileRequest& req) {
    PruneRecipe recipe = req.recipe;
    check_prune_recipe(recipe);
    const std::string ext = std::filesystem::path(req.output).extension().string();
    if (ext != ".gguf") throw UsageError("-o", "a pruned language model is written as .gguf, not '" + req.output + "'");
    check_output_path(req.output, {req.input});
    if (input_kind(req.input) != InputKind::llm_gguf)
        throw InputError(req.input, "tern prune prunes language models (.gguf) today; pruning a classifier or another "
                                    "tensor file is not supported yet");
    io::GgufModel g = io::read_gguf(req.input);
    quant::TensorModel model;
    model.gguf_metadata = std::move(g.info.metadata);
    model.tensors = std::move(g.tensors);
    model.is_llm = true;
    for (const NamedTensor& t : model.tensors) require_finite_tensor(t.tensor, req.input, t.name);
    recipe.calibration.model = req.input;
    PrunedModel out = io::naming_model_file(req.input, [&] { return prune_llm(model, recipe); });
    llm::write_model_gguf(req.output, out.model.gguf_metadata, out.model.tensors);
    return out;
}

}  // namespace tern::prune
