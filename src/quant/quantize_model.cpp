#include "quant/quantize_model.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/output_path.h"
#include "formats/nonfinite_scan.h"
#include "formats/sparse24_block.h"
#include "formats/tensor_codec.h"
#include "io/gguf_types.h"
#include "io/gguf_writer.h"
#include "io/model_container.h"
#include "io/model_info.h"
#include "io/safetensors.h"
#include "io/tensor_names.h"
#include "llm/hf_to_gguf.h"
#include "llm/model_check.h"
#include "quant/calibrated_methods.h"
#include "quant/smoothquant.h"
#include "quant/imatrix.h"
#include "quant/rotate.h"

namespace tern::quant {
namespace {

QuantizedModel run_rtn(const TensorModel& model, const QuantRecipe& recipe) {
    // Naive W8A8 with static activation scales needs the calibration pass for them.
    if (recipe.static_act_scale) return run_w8a8_static_rtn(model, recipe);
    return run_method_rtn(model, recipe, {});
}

// A GGUF that tern's LLM runtime loads (config and every tensor it needs).
bool gguf_is_llm(const std::string& path) {
    try {
        llm::check_model_file(path);
        return true;
    } catch (const InputError&) {
        return false;
    }
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TensorModel read_tensor_model(const QuantizeFileRequest& req, bool to_gguf) {
    TensorModel m;
    bool is_gguf = false, is_safetensors = false;
    std::error_code ec;
    if (!std::filesystem::is_directory(req.input, ec)) {
        const auto bytes = MappedFile::open(req.input);
        is_gguf = io::looks_like_gguf(std::span<const uint8_t>(bytes->data(), std::min<size_t>(bytes->size(), 16)));
        is_safetensors = !is_gguf && io::looks_like_safetensors(std::span<const uint8_t>(bytes->data(), bytes->size()));
    }
    // An LLM in (a GGUF tern loads, or an HF checkpoint) must come out as a GGUF
    // model tern and llama.cpp load: checked after writing. Other tensor files
    // are quantized as plain tensor containers.
    if (is_gguf) {
        io::GgufModel g = io::read_gguf(req.input);
        m.gguf_metadata = g.info.metadata;
        m.tensors = g.tensors;
        m.is_llm = to_gguf && gguf_is_llm(req.input);
    } else if (to_gguf && llm::is_hf_llm_checkpoint(req.input)) {
        // llama.cpp's names, layouts, architecture keys and tokenizer; weights keep their type for RTN.
        llm::GgufModelParts parts = llm::hf_to_gguf(req.input);
        if (!parts.has_tokenizer && req.warn)
            req.warn("warning: no tokenizer.json beside " + req.input + ": " + req.output +
                     " will have no tokenizer (llama.cpp needs one)");
        m.gguf_metadata = std::move(parts.metadata);
        m.tensors = std::move(parts.tensors);
        m.is_llm = true;
    } else if (is_safetensors) {
        // Its __metadata__ (tern.model of a trained classifier, …) goes to a safetensors
        // output, or `tern eval` could not rebuild the model from it.
        io::SafetensorsModel st = io::read_safetensors(req.input);
        for (const auto& info : st.infos) m.safetensors_metadata.insert(info.metadata.begin(), info.metadata.end());
        // Its packed u8 layers are not weights a tensor format can re-quantize.
        if (m.safetensors_metadata.count("tern.binary"))
            throw InputError(req.input, "is a binary / ternary model (packed 1- or 2-bit layers); quantizing it again is not "
                                        "supported: evaluate it with tern eval");
        m.tensors = std::move(st.tensors);
    } else {
        m.tensors = load_tensors(req.input);
    }
    return m;
}

void write_tensor_model(const QuantizeFileRequest& req, TensorModel& m) {
    const QuantRecipe& r = req.recipe;
    if (ends_with(req.output, ".safetensors")) {
        if (r.mix) throw InputError(req.output, req.format_name + " is a GGUF mix of block types; write a .gguf instead");
        if (!io::safetensors_name_from_dtype(*r.format->dtype))
            throw InputError(req.output, "safetensors has no dtype for " + req.format_name + "; write a .gguf instead");
        m.safetensors_metadata["quantized_by"] = "tern quantize --format " + req.format_name;
        io::write_safetensors(req.output, m.tensors, m.safetensors_metadata);
        return;
    }
    auto set = [&](const std::string& key, io::GgufValue v) {
        for (auto& [k, val] : m.gguf_metadata)
            if (k == key) {
                val = std::move(v);
                return;
            }
        m.gguf_metadata.emplace_back(key, std::move(v));
    };
    if (r.mix) set("general.file_type", io::GgufValue::of_u32(r.mix->llama_file_type));
    else if (req.file_type) set("general.file_type", io::GgufValue::of_u32(*req.file_type));
    set("general.quantization_version", io::GgufValue::of_u32(2));
    // tern's private block types (sparse24_q8, w8a8, int4g128, ...): say so where a reader looks first.
    for (const NamedTensor& t : m.tensors)
        if (const auto id = io::ggml_type_from_dtype(t.tensor.dtype()); id && *id >= kTernPrivateGgmlTypes) {
            set("general.tern_only", io::GgufValue::of_string(
                                         "tensor " + t.name + " is " + std::string(dtype_name(t.tensor.dtype())) +
                                         ", a tern-only storage type: llama.cpp cannot load this file, tern can"));
            break;
        }
    if (m.is_llm) llm::write_model_gguf(req.output, m.gguf_metadata, m.tensors);
    else io::write_gguf(req.output, m.gguf_metadata, m.tensors);
}

}  // namespace

namespace {
// sparse24_q8 for a 2-D tensor that is 2:4 sparse, w8a8 for any other.
const FormatDescriptor* sparse24_format_for(const NamedTensor& t) {
    const FormatDescriptor* sparse = format_for_dtype(DType::sparse24_q8);
    if (t.tensor.rank() != 2 || t.tensor.dim(1) % sparse->block_size != 0) return format_for_dtype(DType::w8a8);
    const std::vector<float> w = tensor_to_f32(t.tensor, t.name);
    return row_is_2of4_sparse(w.data(), static_cast<int64_t>(w.size())) ? sparse : format_for_dtype(DType::w8a8);
}
}  // namespace

QuantizedModel run_method_rtn(const TensorModel& model, const QuantRecipe& recipe,
                              const std::function<bool(size_t)>& keep) {
    QuantizeOptions qo;
    qo.format = recipe.format;
    qo.measure_error = recipe.measure_error;
    std::optional<GgufMixPlan> plan;
    if (recipe.mix) {
        plan.emplace(*recipe.mix, model.tensors);
        qo.format_for = [&](const NamedTensor& t) { return plan->format_for(t); };
    } else if (recipe.format->dtype == DType::sparse24_q8) {
        // Only what is already 2:4 sparse is stored sparse (the codec would prune the
        // rest); every other tensor gets w8a8, the same codes stored dense.
        qo.format_for = [](const NamedTensor& t) { return sparse24_format_for(t); };
    }
    std::vector<NamedTensor> todo;
    std::vector<size_t> kept;
    for (size_t i = 0; i < model.tensors.size(); ++i) {
        const io::TensorRole role = io::tensor_role_of(model.tensors[i].name).role;
        const bool skip = std::find(recipe.skip_roles.begin(), recipe.skip_roles.end(), role) != recipe.skip_roles.end();
        if (skip || (keep && keep(i))) kept.push_back(i);
        else todo.push_back(model.tensors[i]);
    }
    QuantizedModel out;
    out.model.gguf_metadata = model.gguf_metadata;
    out.model.safetensors_metadata = model.safetensors_metadata;
    out.model.is_llm = model.is_llm;
    std::vector<QuantizeReportRow> report;
    std::vector<NamedTensor> quantized = quantize_tensors_rtn(todo, qo, report);
    // Back in the model's order, kept tensors as they were.
    size_t next = 0, k = 0;
    for (size_t i = 0; i < model.tensors.size(); ++i) {
        if (k < kept.size() && kept[k] == i) {
            const NamedTensor& t = model.tensors[i];
            out.model.tensors.push_back(t);
            const std::string dt(dtype_name(t.tensor.dtype()));
            out.report.push_back({.name = t.name, .from_dtype = dt, .to_dtype = dt, .bytes_before = t.tensor.nbytes(),
                                  .bytes_after = t.tensor.nbytes(), .note = "kept"});
            ++k;
        } else {
            out.model.tensors.push_back(std::move(quantized[next]));
            out.report.push_back(std::move(report[next]));
            ++next;
        }
    }
    return out;
}

std::vector<io::TensorRole> parse_skip_roles(const std::string& list) {
    std::vector<io::TensorRole> roles;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t end = std::min(list.find(',', start), list.size());
        const std::string name = list.substr(start, end - start);
        start = end + 1;
        if (name.empty()) continue;
        bool found = false;
        for (int r = 0; r <= static_cast<int>(io::TensorRole::other); ++r) {
            const auto role = static_cast<io::TensorRole>(r);
            if (name == io::tensor_role_name(role) || (name == "embed" && role == io::TensorRole::token_embd)) {
                roles.push_back(role);
                found = true;
            }
        }
        if (!found)
            throw UsageError("--skip-roles", "unknown role '" + name + "' (embed, output, attn_q, attn_k, attn_v, "
                                             "attn_output, ffn_gate, ffn_up, ffn_down, …)");
    }
    return roles;
}

// One row per method; a new one (awq, gptq, smoothquant …) is a row here plus its file.
const std::vector<QuantMethod>& quant_methods() {
    static const std::vector<QuantMethod> methods = {
        {.name = "rtn", .summary = "round to nearest, block by block", .run = run_rtn},
        {.name = "awq", .summary = "activation-aware scales and clipping (calibrated), then round to nearest", .run = run_awq},
        {.name = "gptq", .summary = "GPTQ error compensation from calibration Hessians (int*g128, GGUF blocks and mixes)",
         .run = run_gptq},
        {.name = "awq+gptq", .summary = "AWQ scales, then GPTQ on the scaled weights", .run = run_awq_gptq},
        {.name = "smoothquant", .summary = "SmoothQuant: activation outliers migrated into the weights, then w8a8",
         .run = run_smoothquant},
        {.name = "imatrix", .summary = "llama.cpp's importance-weighted block scales from mean x^2 (calibrated or --imatrix)",
         .run = run_imatrix},
        {.name = "rotate", .summary = "randomized Hadamard rotation of the residual stream (QuaRot), then round to nearest",
         .run = run_rotate},
        {.name = "rotate+gptq", .summary = "randomized Hadamard rotation, then GPTQ with the rotated inputs' Hessians",
         .run = run_rotate_gptq},
    };
    return methods;
}

const QuantMethod& quant_method(const std::string& name) {
    std::string known;
    for (const QuantMethod& m : quant_methods()) {
        if (name == m.name) return m;
        known += (known.empty() ? "" : ", ") + std::string(m.name);
    }
    throw UsageError("--method", "unknown method '" + name + "' (available: " + known + ")");
}

QuantizedModel quantize_model(const TensorModel& model, const QuantRecipe& recipe) {
    if (!recipe.format) throw UsageError("--format", "no target format given");
    QuantizedModel out = quant_method(recipe.method).run(model, recipe);
    for (const QuantizeReportRow& row : out.report) {
        out.bytes_before += row.bytes_before;
        out.bytes_after += row.bytes_after;
    }
    return out;
}

QuantizedModel quantize_file(const QuantizeFileRequest& req) {
    quant_method(req.recipe.method);  // a usage error before any reading
    check_output_path(req.output, {req.input});  // before the minutes of quantization, not after
    const bool to_gguf = !ends_with(req.output, ".safetensors");
    const TensorModel input = read_tensor_model(req, to_gguf);
    // Unquantized tensors (norms) are copied as they are: refuse NaN / Inf in any of them.
    for (const NamedTensor& t : input.tensors) require_finite_tensor(t.tensor, req.input, t.name);
    // Per-tensor errors name the tensor; naming_model_file puts the input file in front.
    QuantRecipe recipe = req.recipe;
    if (recipe.calibration.model.empty()) recipe.calibration.model = req.input;  // calibrated methods run the input
    QuantizedModel out = io::naming_model_file(req.input, [&] { return quantize_model(input, recipe); });
    write_tensor_model(req, out.model);
    return out;
}

}  // namespace tern::quant
