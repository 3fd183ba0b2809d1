#pragma once
// Quantizing a whole model: a table of methods (rtn today; awq, gptq,
// smoothquant … each add one row in quantize_model.cpp), the model as a list of
// tensors with the metadata that travels with them, and quantize_file(), what
// `tern quantize` runs: read any input tern knows, quantize, write atomically.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "formats/format.h"
#include "io/gguf_reader.h"
#include "io/named_tensor.h"
#include "io/tensor_role.h"
#include "quant/calibration.h"
#include "quant/gguf_mix.h"
#include "quant/rtn.h"

namespace tern::quant {

// A model as its tensors and the container metadata to write back with them.
struct TensorModel {
    std::vector<NamedTensor> tensors;
    io::GgufMetadata gguf_metadata;                           // a GGUF or converted HF input
    std::map<std::string, std::string> safetensors_metadata;  // a safetensors input's __metadata__
    bool is_llm = false;  // tern's LLM runtime loads it: the output must load too
};

// The rotate methods' options (quant/rotate.h).
struct RotateOptions {
    uint64_t seed = 1;    // --rotate-seed: the random signs of Q
    bool online = false;  // --rotate-online: also an online Hadamard before ffn_down
};

struct QuantRecipe {
    std::string method = "rtn";
    const FormatDescriptor* format = nullptr;  // the target (a mix's base type)
    std::optional<GgufMix> mix;                // a llama.cpp mixed preset (q4_k_m …)
    bool measure_error = false;
    // Calibrated methods (awq, gptq): the model file to run (the input), --calib,
    // --calib-tokens, --calib-ctx. Which statistics is the method's choice.
    CalibrateOptions calibration;
    // imatrix: a `tern calibrate` statistics file (in_meansq) to use instead of a calibration pass.
    std::string imatrix_file;
    std::vector<io::TensorRole> skip_roles;  // --skip-roles: kept as they are, by every method
    // w8a8 (smoothquant, rtn): --alpha (migration strength) and --act-scale static
    // (per-tensor activation scales from calibration instead of per-token ones).
    double smooth_alpha = 0.5;
    bool static_act_scale = false;
    RotateOptions rotate;                    // rotate, rotate+gptq
};

struct QuantizedModel {
    TensorModel model;
    std::vector<QuantizeReportRow> report;  // one row per tensor
    uint64_t bytes_before = 0, bytes_after = 0;
    std::vector<std::string> notes;  // per-layer choices of a method (AWQ's alpha …)
};

struct QuantMethod {
    const char* name;
    const char* summary;
    QuantizedModel (*run)(const TensorModel& model, const QuantRecipe& recipe);
};
const std::vector<QuantMethod>& quant_methods();
// The named method; UsageError listing the registered ones otherwise.
const QuantMethod& quant_method(const std::string& name);

// Round to nearest over the model, leaving the recipe's skip_roles and every
// tensor i with keep(i) as they are (keep may be empty). The rtn method, and
// the last step of the calibrated ones.
QuantizedModel run_method_rtn(const TensorModel& model, const QuantRecipe& recipe,
                              const std::function<bool(size_t)>& keep);

// "embed,output" -> roles (token_embd for "embed"; any llama.cpp role name).
// UsageError naming --skip-roles on an unknown name.
std::vector<io::TensorRole> parse_skip_roles(const std::string& list);

// Runs the recipe's method over every tensor (rank < 2 ones are kept).
QuantizedModel quantize_model(const TensorModel& model, const QuantRecipe& recipe);

struct QuantizeFileRequest {
    std::string input, output;  // output .gguf, or .safetensors for float formats
    std::string format_name;    // as the user wrote it, for messages and metadata
    QuantRecipe recipe;
    std::optional<uint32_t> file_type;  // general.file_type for a uniform GGUF output
    std::function<void(const std::string&)> warn;  // non-fatal notes (stderr in the CLI)
};

// Checks the method and the output path, reads the input (GGUF, safetensors,
// another tensor file, or a Hugging Face LLM folder converted to llama.cpp's
// layout), refuses NaN / Inf, quantizes and writes the output atomically.
QuantizedModel quantize_file(const QuantizeFileRequest& req);

}  // namespace tern::quant
