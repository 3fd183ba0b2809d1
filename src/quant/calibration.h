#pragma once
// Calibration: runs a language model over calibration windows with a
// CalibrationCollector on every Linear and writes the statistics as tensors
// named after the weight they belong to, as llama.cpp's imatrix tool does:
//   <w>.in_count    (1) i64      input rows seen (tokens)
//   <w>.in_absmax   (K) f32      max |x| per input channel
//   <w>.in_meanabs  (K) f32      mean |x|
//   <w>.in_meansq   (K) f32      mean x² (llama.cpp's importance matrix)
//   <w>.in_min, <w>.in_max (K) f32
//   <w>.in_hist     (K, 34) i64  counts of |x| by power of two (ops::hist_bin)
//   <w>.hessian     (K, K) f64   X^T X / in_count, the mean input Hessian
// where <w> is "blk.N.attn_q" ... "blk.N.ffn_down" or "output" (GPT-2's fused
// q/k/v weight: "blk.N.attn_qkv", once, since the three share their input).
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/named_tensor.h"
#include "llm/forward.h"
#include "llm/model_loader.h"
#include "ops/calibration_stats.h"

namespace tern::quant {

// Runs every window from an empty cache through `session` with `observer`
// attached (all logits, so the head sees every row too). on_window(i) after
// window i; may be empty. The session's context must hold the longest window.
void observe_windows(llm::Session& session, std::span<const std::vector<int32_t>> windows,
                     ops::LinearObserver& observer, const std::function<void(int64_t)>& on_window = {});

// "blk.3.attn_q", "output"; fused_qkv names q, k and v "blk.N.attn_qkv".
std::string calibration_weight_name(io::RoleOf role, bool fused_qkv);

// The collector's statistics as tensors (see the top of this file).
std::vector<NamedTensor> calibration_tensors(const ops::CalibrationCollector& collector, bool fused_qkv);

struct CalibrateOptions {
    std::string model;
    std::string calib = "text:train";  // quant/calibration_data.h
    std::string output;                // .gguf or .safetensors
    int64_t n_tokens = 4096;           // --calib-tokens
    int64_t ctx = 0;                   // --calib-ctx; 0: the model's context, at most 512
    ops::StatSet stats = {.absmax = true, .meansq = true};
    llm::LoadOptions load;
};

// One row of the report per Linear written.
struct CalibrationRow {
    std::string name;  // the weight's base name
    io::RoleOf role;
    int64_t tokens = 0;
    int64_t in_features = 0;
    float max_absmax = -1;        // -1 when absmax was not kept
    int64_t max_absmax_channel = -1;
    double hessian_trace = -1;    // trace of the mean Hessian (mean |x|²); -1 when neither hessian nor meansq was kept
};

struct CalibrateResult {
    std::vector<CalibrationRow> rows;
    int64_t n_windows = 0, n_tokens = 0, ctx = 0;
    int64_t n_tensors = 0;
    double seconds = 0;
};

// The statistics of every Linear of a language model over its calibration
// windows (options.output is not used): what calibrate_model writes and what
// calibrated quantization methods (AWQ, GPTQ) consume directly.
struct LinearStatistics {
    std::unique_ptr<ops::CalibrationCollector> collector;
    int64_t n_windows = 0, n_tokens = 0, ctx = 0;
    bool fused_qkv = false;  // GPT-2: q, k and v share one Linear
    std::string source;      // the calibration text, for reports
};
LinearStatistics collect_linear_statistics(const CalibrateOptions& options,
                                           const std::function<void(int64_t, int64_t)>& on_window = {});

// A language model loaded with its calibration windows, for methods that
// calibrate more than once: sequential compression (SparseGPT's and GPTQ's
// order) swaps a block's compressed weights into model() between passes, so
// the next block's statistics see the error of the blocks before it.
class CalibrationRun {
public:
    // Loads options.model and its tokenizer and cuts the windows; the errors of
    // collect_linear_statistics.
    explicit CalibrationRun(const CalibrateOptions& options);
    ~CalibrationRun();
    CalibrationRun(const CalibrationRun&) = delete;
    CalibrationRun& operator=(const CalibrationRun&) = delete;

    // One pass over every window; the statistics of the Linears `keep` accepts
    // (every Linear when it is empty). on_window(i) after window i.
    LinearStatistics observe(ops::StatSet stats, const std::function<bool(io::RoleOf)>& keep = {},
                             const std::function<void(int64_t)>& on_window = {});
    llm::Model& model() { return *model_; }
    int64_t n_windows() const { return static_cast<int64_t>(windows_.size()); }
    const std::vector<std::vector<int32_t>>& windows() const { return windows_; }
    int64_t ctx() const { return ctx_; }

private:
    std::unique_ptr<llm::Model> model_;
    std::unique_ptr<llm::Session> session_;
    std::vector<std::vector<int32_t>> windows_;
    int64_t n_tokens_ = 0, ctx_ = 0;
    std::string source_;
};

// Loads the model and its tokenizer, cuts the calibration text into windows,
// collects the statistics and writes them atomically to options.output.
// UsageError for bad options (exit 2), InputError / IoError for bad files.
CalibrateResult calibrate_model(const CalibrateOptions& options,
                                const std::function<void(int64_t, int64_t)>& on_window = {});

}  // namespace tern::quant
