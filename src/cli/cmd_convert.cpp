// tern convert HF_FOLDER -o model.gguf [--type f16|bf16|f32]
// A Hugging Face checkpoint (config.json + safetensors + tokenizer.json) as
// the GGUF llama.cpp's converter writes; the file is checked to load before
// it appears.
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/table.h"
#include "llm/hf_to_gguf.h"

namespace tern::cli {
namespace {

struct ConvertCliOptions {
    std::string model;
    std::string output;
    std::string type = "f16";
};

void run_convert(const ConvertCliOptions& o) {
    DType t;
    if (o.type == "f16") t = DType::f16;
    else if (o.type == "bf16") t = DType::bf16;
    else if (o.type == "f32") t = DType::f32;
    else throw UsageError("convert", "--type '" + o.type + "' is not one of f16, bf16, f32");
    std::error_code ec;
    if (std::filesystem::exists(o.output, ec) &&
        std::filesystem::weakly_canonical(o.model, ec) == std::filesystem::weakly_canonical(o.output, ec))
        throw UsageError("convert", "output would overwrite the input " + o.model);
    if (!llm::is_hf_llm_checkpoint(o.model))
        throw InputError(o.model, "not a Hugging Face checkpoint: no config.json beside the weights");
    llm::HfToGgufOptions opts;
    opts.weight_type = t;
    const llm::GgufModelParts parts = llm::hf_to_gguf(o.model, opts);
    if (!parts.has_tokenizer)
        std::fprintf(stderr, "warning: no tokenizer.json beside %s: %s will have no tokenizer (llama.cpp needs one)\n",
                     o.model.c_str(), o.output.c_str());
    llm::write_model_gguf(o.output, parts.metadata, parts.tensors);
    uint64_t bytes = 0;
    for (const auto& nt : parts.tensors) bytes += nt.tensor.nbytes();
    std::printf("%s -> %s: %zu tensors, %s, weights %s\n", o.model.c_str(), o.output.c_str(), parts.tensors.size(),
                fmt_bytes(double(bytes)).c_str(), o.type.c_str());
}

}  // namespace

void add_convert_command(CLI::App& app) {
    auto o = std::make_shared<ConvertCliOptions>();
    auto* cmd = app.add_subcommand("convert", "Convert a Hugging Face checkpoint (Llama, Qwen2, GPT-2) to a llama.cpp GGUF");
    cmd->add_option("model", o->model, "Hugging Face folder (config.json, safetensors, tokenizer.json)")->required();
    cmd->add_option("-o,--output", o->output, "output .gguf")->required();
    cmd->add_option("--type", o->type, "type of the 2-D weights: f16 (default), bf16, f32");
    cmd->callback([o] { run_convert(*o); });
}

}  // namespace tern::cli
