// tern quantize MODEL -o OUT --format F [--method rtn|awq|gptq|awq+gptq|imatrix|smoothquant|rotate|rotate+gptq]
//               [--calib SPEC --calib-tokens N --calib-ctx C] [--imatrix STATS] [--skip-roles LIST]
//               [--alpha A] [--act-scale dynamic|static] [--rotate-seed S] [--rotate-online] [--measure] [--json]
// tern quantize MODEL(.safetensors classifier|.onnx|.tflite) -o OUT.onnx [--method minmax|movingavg|percentile|mse|kl]
//               [--calib fashion-mnist:train:N|images:DIR[:N]|npy:FILE] [--calib-shape CxHxW] [--calib-norm NORM]
//               [--acts uint8|int8] [--acts-symmetric] [--json]
//               [--method adaround --adaround-iters N] [--weights int8|int6|int4|int2] [--bias-correction] [--equalize]
//               [--method mixed --avg-bits B|--size-kb S [--bit-choices 8,6,4,2] [--val-images N] [--pareto-png P]]
// An .onnx output is a static int8 QDQ model of a graph (cli/quantize_graph.h).
// Round-to-nearest into any tensor storage format; GGUF block formats give a
// GGUF that llama.cpp loads. A Hugging Face checkpoint (config.json beside the
// safetensors) is converted to llama.cpp's layout first (llm/hf_to_gguf.h).
// Tensors of rank < 2 (norms, biases) stay as they are. The output is written
// atomically (core/atomic_file_writer.h). Reading, the method table and
// writing live in quant/quantize_model.h; this file parses and prints.
#include <cstdio>
#include <limits>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/quantize_graph.h"
#include "cli/quantize_kmeans.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/table.h"
#include "core/storage_types.h"
#include "formats/format.h"
#include "io/gguf_types.h"
#include "quant/gguf_mix.h"
#include "quant/quantize_model.h"
#include "vision/image_tensor.h"

namespace tern::cli {
namespace {

struct QuantizeCliOptions {
    std::string model;
    std::string output;
    std::string format;
    std::string method;  // empty: rtn (tensor outputs) or minmax (.onnx outputs)
    std::string calib;   // empty: text:train or fashion-mnist:train:512
    int64_t calib_tokens = 4096;
    int64_t calib_ctx = 0;
    std::string imatrix;
    std::string skip_roles;
    std::optional<double> alpha;
    std::string act_scale = "dynamic";
    int64_t rotate_seed = 1;
    bool rotate_seed_given = false;
    bool rotate_online = false;
    bool measure = false;
    bool json = false;
    int threads = 0;
    std::string acts;  // .onnx outputs only
    bool acts_symmetric = false;
    int bits = 0;  // kmeans only (0: not given)
    int index_bits = 0;
    bool huffman = false;
    std::string weights;          // .onnx outputs only: int8 (default), int4, int2
    int adaround_iters = 0;       // 0: not given
    bool bias_correction = false;
    bool equalize = false;
    double avg_bits = 0;  // --method mixed only (0: not given)
    double size_kb = 0;
    std::string bit_choices;
    std::string pareto_png;
    int64_t val_images = 0;
    std::string calib_shape;  // .onnx outputs, --calib images:DIR
    std::string calib_norm;
};

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

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

void run_quantize_tensors(const QuantizeCliOptions& o);

void run_quantize(const QuantizeCliOptions& given) {
    apply_threads(given.threads);
    if (given.method == "kmeans") {
        if (!given.format.empty()) throw UsageError("--format", "--method kmeans stores shared codebooks; use --bits");
        if (!given.weights.empty() || given.adaround_iters != 0 || given.bias_correction || given.equalize)
            throw UsageError(!given.weights.empty() ? "--weights" : given.adaround_iters != 0 ? "--adaround-iters"
                             : given.bias_correction ? "--bias-correction" : "--equalize",
                             "applies to .onnx (QDQ graph) outputs, not to --method kmeans (it takes --bits)");
        return run_quantize_kmeans({given.model, given.output, given.bits ? given.bits : 4,
                                    given.index_bits ? given.index_bits : 5, given.huffman, given.json});
    }
    if (given.bits || given.index_bits || given.huffman)
        throw UsageError(given.bits ? "--bits" : given.index_bits ? "--index-bits" : "--huffman",
                         "applies to --method kmeans only");
    if (ends_with(given.output, ".onnx")) {
        if (!given.format.empty())
            throw UsageError("--format", "an .onnx output is an int8 QDQ model; --format is for .gguf / .safetensors outputs");
        return run_quantize_graph({given.model, given.output, given.method, given.calib, given.acts, given.acts_symmetric,
                                   given.json, given.weights, given.adaround_iters, given.bias_correction, given.equalize,
                                   given.avg_bits, given.size_kb, given.bit_choices, given.pareto_png, given.val_images,
                                   given.calib_shape, given.calib_norm});
    }
    if (!given.acts.empty() || given.acts_symmetric)
        throw UsageError(given.acts.empty() ? "--acts-symmetric" : "--acts", "applies to .onnx (QDQ) outputs only");
    if (!given.calib_shape.empty() || !given.calib_norm.empty())
        throw UsageError(given.calib_norm.empty() ? "--calib-shape" : "--calib-norm", "applies to .onnx (QDQ) outputs only");
    if (!given.weights.empty() || given.adaround_iters != 0 || given.bias_correction || given.equalize)
        throw UsageError(!given.weights.empty()        ? "--weights"
                         : given.adaround_iters != 0  ? "--adaround-iters"
                         : given.bias_correction      ? "--bias-correction"
                                                      : "--equalize",
                         "applies to .onnx (QDQ graph) outputs only; .gguf / .safetensors outputs take --format");
    if (given.format.empty())
        throw UsageError("--format", "is required for .gguf / .safetensors outputs (e.g. q4_0, q8_0, q4_k_m; see tern formats)");
    QuantizeCliOptions o = given;
    if (o.method.empty()) o.method = "rtn";
    if (o.calib.empty()) o.calib = "text:train";
    run_quantize_tensors(o);
}

void run_quantize_tensors(const QuantizeCliOptions& o) {
    quant::quant_method(o.method);  // an unknown method is reported before the format
    if (!o.imatrix.empty() && o.method != "imatrix")
        throw UsageError("--imatrix", "a statistics file is read by --method imatrix only (not '" + o.method + "')");
    if ((o.rotate_seed_given || o.rotate_online) && o.method != "rotate" && o.method != "rotate+gptq")
        throw UsageError(o.rotate_online ? "--rotate-online" : "--rotate-seed",
                         "applies to --method rotate and rotate+gptq, not '" + o.method + "'");
    // A mixed preset (q4_k_m) quantizes to its base type except where its plan says otherwise.
    const std::optional<GgufMix> mix = gguf_mix_by_name(o.format);
    const FormatDescriptor& fmt = format_by_name(mix ? std::string(dtype_name(mix->base)) : o.format);
    if (!fmt.dtype)
        throw InputError("quantize", "format '" + o.format + "' is not a tensor storage type; GGUF/safetensors outputs take " +
                                         storage_format_names());
    quant::QuantizeFileRequest req;
    req.input = o.model;
    req.output = o.output;
    req.format_name = o.format;
    req.recipe.method = o.method;
    req.recipe.format = &fmt;
    req.recipe.mix = mix;
    req.recipe.measure_error = o.measure;
    req.recipe.calibration.calib = o.calib;
    req.recipe.calibration.n_tokens = o.calib_tokens;
    req.recipe.calibration.ctx = o.calib_ctx;
    req.recipe.imatrix_file = o.imatrix;
    req.recipe.skip_roles = quant::parse_skip_roles(o.skip_roles);
    if (o.alpha && o.method != "smoothquant")
        throw UsageError("--alpha", "is SmoothQuant's migration strength; use it with --method smoothquant");
    req.recipe.smooth_alpha = o.alpha.value_or(0.5);
    req.recipe.static_act_scale = o.act_scale == "static";
    if (req.recipe.static_act_scale && fmt.dtype != DType::w8a8)
        throw UsageError("--act-scale", "static activation scales are for --format w8a8");
    if (fmt.dtype == DType::sparse24_q8 && o.method != "rtn")
        throw UsageError("--format", "sparse24_q8 stores a 2:4-pruned model (tern prune --pattern 2:4) as it is: "
                                     "use --method rtn, not '" + o.method + "'");
    req.recipe.rotate = {.seed = static_cast<uint64_t>(o.rotate_seed), .online = o.rotate_online};
    req.file_type = io::llama_file_type_from_dtype(*fmt.dtype);
    req.warn = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    const quant::QuantizedModel q = quant::quantize_file(req);
    const auto& report = q.report;
    const uint64_t before = q.bytes_before, after = q.bytes_after;
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
        j["notes"] = q.notes;
        print_json(j);
        return;
    }
    TextTable table({"tensor", "from", "to", "before", "after", "rel_rms", "note"});
    for (const auto& r : report)
        table.add_row({r.name, r.from_dtype, r.to_dtype, fmt_bytes(double(r.bytes_before)), fmt_bytes(double(r.bytes_after)),
                       r.rel_rms >= 0 ? fmt_fixed(r.rel_rms, 5) : "", r.note});
    table.print();
    for (const auto& n : q.notes) std::printf("%s\n", n.c_str());
    std::printf("\n%s -> %s: %s -> %s (%.2fx smaller)\n", o.model.c_str(), o.output.c_str(), fmt_bytes(double(before)).c_str(),
                fmt_bytes(double(after)).c_str(), after > 0 ? double(before) / double(after) : 0.0);
}

}  // namespace

void add_quantize_command(CLI::App& app) {
    auto o = std::make_shared<QuantizeCliOptions>();
    auto* cmd = app.add_subcommand("quantize", "Quantize a model's weights into another number format");
    cmd->add_option("model", o->model, "input model (.gguf, .safetensors, a Hugging Face folder; .onnx/.tflite for an .onnx output)")->required();
    cmd->add_option("-o,--output", o->output, "output file (.gguf, .safetensors for float formats, .onnx: int8 QDQ graph)")->required();
    cmd->add_option("--format", o->format, "target format (see tern formats), e.g. q4_0, q4_k, q8_0, f16, or a llama.cpp mix: q3_k_m, q4_k_m, q5_k_m (not for .onnx outputs)");
    cmd->add_option("--method", o->method, "quantization method (default rtn; .onnx outputs: minmax (default), movingavg, percentile, mse, kl, "
                    "or adaround: learned weight rounding (Nagel 2020), activation ranges by min-max; "
                    "mixed: per-layer weight widths by measured sensitivity under --avg-bits / --size-kb; "
                    "kmeans: shared codebooks of a classifier .safetensors)");
    cmd->add_option("--calib", o->calib, "awq / gptq calibration text: text:train (default), text:validation, text:test or text:FILE; "
                                         ".onnx outputs: fashion-mnist:train:N (default N 512), images:DIR[:N] (PNG/JPEG pictures, "
                                         "with --calib-norm) or npy:FILE.npy (an f32 batch)");
    cmd->add_option("--calib-shape", o->calib_shape,
                    ".onnx outputs, --calib images:DIR: pictures resized to CxHxW or 1xCxHxW, e.g. 1x3x48x192 (default: the model's input)");
    cmd->add_option("--calib-norm", o->calib_norm, std::string(".onnx outputs, --calib images:DIR: how pictures become the input: ") +
                                                        vision::kImageNormNames);
    cmd->add_option("--acts", o->acts, ".onnx outputs: activation codes uint8 (default) or int8");
    cmd->add_flag("--acts-symmetric", o->acts_symmetric, ".onnx outputs: symmetric activation ranges (default asymmetric)");
    cmd->add_option("--weights", o->weights,
                    ".onnx outputs: weight codes int8 (default), int6, int4 or int2, symmetric per channel (stored in int8 containers)");
    cmd->add_option("--adaround-iters", o->adaround_iters, "--method adaround: Adam iterations per layer (default 1000)")
        ->check(CLI::Range(1, 1000000));
    cmd->add_flag("--bias-correction", o->bias_correction,
                  ".onnx outputs: subtract each layer's mean output error on the calibration images from its bias");
    cmd->add_flag("--equalize", o->equalize,
                  ".onnx outputs: cross-layer equalization of Conv/Gemm pairs joined by Relu / MaxPool before quantizing");
    cmd->add_option("--avg-bits", o->avg_bits,
                    "--method mixed: weight budget as average bits per weight (4: the size of uniform 4-bit weights)");
    cmd->add_option("--size-kb", o->size_kb, "--method mixed: weight budget in KB of packed weight codes");
    cmd->add_option("--bit-choices", o->bit_choices, "--method mixed: per-layer weight widths to choose from (default 8,6,4,2)");
    cmd->add_option("--pareto-png", o->pareto_png, "--method mixed: plot of validation accuracy against weight size");
    cmd->add_option("--val-images", o->val_images,
                    "--method mixed: validation images for the sensitivity scan (default 1000, from the 5000 tern train holds out)")
        ->check(CLI::Range(int64_t{1}, int64_t{5000}));
    cmd->add_option("--calib-tokens", o->calib_tokens, "calibration tokens, BOS included (default 4096)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
    cmd->add_option("--calib-ctx", o->calib_ctx, "tokens per calibration window (default: the model's context, at most 512)")
        ->check(CLI::Range(int64_t{2}, int64_t{1} << 30));
    cmd->add_option("--imatrix", o->imatrix,
                    "imatrix: statistics from `tern calibrate` (its in_meansq) instead of a calibration pass");
    cmd->add_option("--skip-roles", o->skip_roles, "comma list of roles kept as they are, e.g. embed,output");
    cmd->add_option("--alpha", o->alpha, "smoothquant: migration strength in [0, 1] (default 0.5)")
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--act-scale", o->act_scale, "w8a8 activations: dynamic (per token, default) or static (per tensor, calibrated)")
        ->check(CLI::IsMember({"dynamic", "static"}));
    cmd->add_option("--rotate-seed", o->rotate_seed, "rotate: seed of the rotation's random signs (default 1; kept in the file)")
        ->check(CLI::Range(int64_t{0}, std::numeric_limits<int64_t>::max()))
        ->each([o](const std::string&) { o->rotate_seed_given = true; });
    cmd->add_flag("--rotate-online", o->rotate_online,
                  "rotate: also an online Hadamard before ffn_down (tern runs the file; llama.cpp does not know the op)");
    cmd->add_option("--bits", o->bits, "kmeans: at most 2^bits shared values per layer (default 4)")
        ->check(CLI::Range(1, 8));
    cmd->add_option("--index-bits", o->index_bits, "kmeans: width of a pruned layer's relative index (default 5)")
        ->check(CLI::Range(1, 16));
    cmd->add_flag("--huffman", o->huffman, "kmeans: Huffman-code the weight codes and index gaps");
    cmd->add_flag("--measure", o->measure, "report each tensor's relative RMS error (gptq: its output error against rtn's)");
    cmd->add_flag("--json", o->json, "machine-readable report");
    add_threads_option(*cmd, o->threads);
    cmd->callback([o] { run_quantize(*o); });
}

}  // namespace tern::cli
