#pragma once
// `tern bench MODEL.onnx [-t 1,2] [--runs N]`: latency of one inference of an
// ONNX model on the planned executor (passes, prepared kernels, one arena),
// batch 1, median and p90 over N timed runs after a warm-up, per thread count
// (onnxruntime_perf_test's numbers).
#include <string>
#include <vector>

#include "core/json_out.h"

namespace tern::cli {

struct GraphBenchResult {
    std::string model;
    int threads = 1;
    int runs = 0;
    double median_ms = 0, p90_ms = 0, min_ms = 0;
    int64_t peak_activation_bytes = 0;
    std::vector<double> runs_ms;
};

// shape: "1x3x48x192" for the model's one input (needed when its dims beyond the batch are open), "" for the declared one.
std::vector<GraphBenchResult> run_graph_bench(const std::string& model, const std::vector<int>& threads, int runs,
                                              const std::string& shape = "");
Json graph_bench_json(const GraphBenchResult& r);
bool is_onnx_path(const std::string& path);

}  // namespace tern::cli
