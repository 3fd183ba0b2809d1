// tern quantize MODEL -o OUT --format F [--method rtn] [--measure] [--json]
// Round-to-nearest into any tensor storage format; GGUF block formats give a
// GGUF that llama.cpp loads. A Hugging Face checkpoint (config.json beside the
// safetensors) is converted to llama.cpp's layout first (llm/hf_to_gguf.h).
// Tensors of rank < 2 (norms, biases) stay as they are. The output is written
// atomically (core/atomic_file_writer.h).
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/output_path.h"
#include "core/table.h"
#include "formats/format.h"
#include "formats/nonfinite_scan.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/model_container.h"
#include "io/model_info.h"
#include "io/safetensors.h"
#include "llm/hf_to_gguf.h"
#include "llm/model_check.h"
#include "quant/gguf_mix.h"
#include "quant/rtn.h"

namespace tern::cli {
namespace {

struct QuantizeCliOptions {
    std::string model;
    std::string output;
    std::string format;
    std::string method = "rtn";
    bool measure = false;
    bool json = false;
    int threads = 0;
};

// The --format values that are storage types (core/storage_types.h rows with a
// formats/ codec), for the error that refuses any other format.
std::string storage_format_names() {
    std::string names;
    for (const StorageType& s : kStorageTypes) {
        if (!format_for_dtype(s.dtype)) continue;
        if (!names.empty()) names += ", ";
        names += s.name;
    }
    return names;
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

void run_quantize(const QuantizeCliOptions& o) {
    apply_threads(o.threads);
    if (o.method != "rtn")
        throw UsageError("quantize", "method '" + o.method + "' is not available yet (available: rtn)");
    // A mixed preset (q4_k_m) quantizes to its base type except where its plan says otherwise.
    const std::optional<GgufMix> mix = gguf_mix_by_name(o.format);
    const FormatDescriptor& fmt = format_by_name(mix ? std::string(dtype_name(mix->base)) : o.format);
    if (!fmt.dtype)
        throw InputError("quantize", "format '" + o.format + "' is not a tensor storage type; GGUF/safetensors outputs take " +
                                         storage_format_names());
    check_output_path(o.output, {o.model});  // before the minutes of quantization, not after

    io::GgufMetadata metadata;
    // A safetensors input's __metadata__ (tern.model of a trained classifier, …) goes to a
    // safetensors output, or `tern eval` could not rebuild the model from it.
    std::map<std::string, std::string> safetensors_metadata;
    std::vector<NamedTensor> input;
    const bool to_gguf = !ends_with(o.output, ".safetensors");
    // An LLM in (a GGUF tern loads, or an HF checkpoint) must come out as a GGUF
    // model tern and llama.cpp load: checked after writing. Other tensor files
    // are quantized as plain tensor containers.
    bool llm_out = false;
    bool is_gguf = false, is_safetensors = false;
    std::error_code ec;
    if (!std::filesystem::is_directory(o.model, ec)) {
        const auto bytes = MappedFile::open(o.model);
        is_gguf = io::looks_like_gguf(std::span<const uint8_t>(bytes->data(), std::min<size_t>(bytes->size(), 16)));
        is_safetensors = !is_gguf && io::looks_like_safetensors(std::span<const uint8_t>(bytes->data(), bytes->size()));
    }
    if (is_gguf) {
        io::GgufModel m = io::read_gguf(o.model);
        metadata = m.info.metadata;
        input = m.tensors;
        llm_out = to_gguf && gguf_is_llm(o.model);
    } else if (to_gguf && llm::is_hf_llm_checkpoint(o.model)) {
        // llama.cpp's names, layouts, architecture keys and tokenizer; weights keep their type for RTN.
        llm::GgufModelParts parts = llm::hf_to_gguf(o.model);
        if (!parts.has_tokenizer)
            std::fprintf(stderr, "warning: no tokenizer.json beside %s: %s will have no tokenizer (llama.cpp needs one)\n",
                         o.model.c_str(), o.output.c_str());
        metadata = std::move(parts.metadata);
        input = std::move(parts.tensors);
        llm_out = true;
    } else if (is_safetensors) {
        io::SafetensorsModel st = io::read_safetensors(o.model);
        for (const auto& info : st.infos) safetensors_metadata.insert(info.metadata.begin(), info.metadata.end());
        input = std::move(st.tensors);
    } else {
        input = load_tensors(o.model);
    }
    // Unquantized tensors (norms) are copied as they are: refuse NaN / Inf in any of them.
    for (const NamedTensor& t : input) require_finite_tensor(t.tensor, o.model, t.name);
    QuantizeOptions qo;
    qo.format = &fmt;
    qo.measure_error = o.measure;
    std::optional<GgufMixPlan> plan;
    if (mix) {
        plan.emplace(*mix, input);
        qo.format_for = [&](const NamedTensor& t) { return plan->format_for(t); };
    }
    std::vector<QuantizeReportRow> report;
    // Per-tensor errors name the tensor; naming_model_file puts the input file in front.
    const std::vector<NamedTensor> output =
        io::naming_model_file(o.model, [&] { return quantize_tensors_rtn(input, qo, report); });

    if (!to_gguf) {
        if (mix) throw InputError(o.output, o.format + " is a GGUF mix of block types; write a .gguf instead");
        if (!io::safetensors_name_from_dtype(*fmt.dtype))
            throw InputError(o.output, "safetensors has no dtype for " + o.format + "; write a .gguf instead");
        safetensors_metadata["quantized_by"] = "tern quantize --format " + o.format;
        io::write_safetensors(o.output, output, safetensors_metadata);
    } else {
        auto set = [&](const std::string& key, io::GgufValue v) {
            for (auto& [k, val] : metadata)
                if (k == key) {
                    val = std::move(v);
                    return;
                }
            metadata.emplace_back(key, std::move(v));
        };
        if (mix) set("general.file_type", io::GgufValue::of_u32(mix->llama_file_type));
        else if (auto ft = io::llama_file_type_from_dtype(*fmt.dtype)) set("general.file_type", io::GgufValue::of_u32(*ft));
        set("general.quantization_version", io::GgufValue::of_u32(2));
        if (llm_out) llm::write_model_gguf(o.output, metadata, output);
        else io::write_gguf(o.output, metadata, output);
    }

    uint64_t before = 0, after = 0;
    for (const auto& r : report) {
        before += r.bytes_before;
        after += r.bytes_after;
    }
    if (o.json) {
        Json j;
        j["input"] = o.model;
        j["output"] = o.output;
        j["format"] = o.format;
        j["method"] = o.method;
        j["bytes_before"] = before;
        j["bytes_after"] = after;
        Json rows = Json::array();
        for (const auto& r : report) {
            Json t{{"name", r.name}, {"from", r.from_dtype}, {"to", r.to_dtype}, {"bytes_before", r.bytes_before},
                   {"bytes_after", r.bytes_after}};
            if (r.rel_rms >= 0) t["rel_rms"] = r.rel_rms;
            if (!r.note.empty()) t["note"] = r.note;
            rows.push_back(t);
        }
        j["tensors"] = rows;
        print_json(j);
        return;
    }
    TextTable table({"tensor", "from", "to", "before", "after", "rel_rms", "note"});
    for (const auto& r : report)
        table.add_row({r.name, r.from_dtype, r.to_dtype, fmt_bytes(double(r.bytes_before)), fmt_bytes(double(r.bytes_after)),
                       r.rel_rms >= 0 ? fmt_fixed(r.rel_rms, 5) : "", r.note});
    table.print();
    std::printf("\n%s -> %s: %s -> %s (%.2fx smaller)\n", o.model.c_str(), o.output.c_str(), fmt_bytes(double(before)).c_str(),
                fmt_bytes(double(after)).c_str(), after > 0 ? double(before) / double(after) : 0.0);
}

}  // namespace

void add_quantize_command(CLI::App& app) {
    auto o = std::make_shared<QuantizeCliOptions>();
    auto* cmd = app.add_subcommand("quantize", "Quantize a model's weights into another number format");
    cmd->add_option("model", o->model, "input model (.gguf, .safetensors, or a Hugging Face folder)")->required();
    cmd->add_option("-o,--output", o->output, "output file (.gguf, or .safetensors for float formats)")->required();
    cmd->add_option("--format", o->format, "target format (see tern formats), e.g. q4_0, q4_k, q8_0, f16, int4g128 (tern only), or a llama.cpp mix: q4_k_m, q5_k_m")->required();
    cmd->add_option("--method", o->method, "rtn (round to nearest)");
    cmd->add_flag("--measure", o->measure, "report each tensor's relative RMS error");
    cmd->add_flag("--json", o->json, "machine-readable report");
    add_threads_option(*cmd, o->threads);
    cmd->callback([o] { run_quantize(*o); });
}

}  // namespace tern::cli
