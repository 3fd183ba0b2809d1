#pragma once
// `tern bench MODEL.onnx [-t 1,2] [--runs N]`: latency of one inference of an
// ONNX model on the planned executor (passes, prepared kernels, one arena),
// batch 1, median and p90 over N timed runs after a warm-up, per thread count
// (onnxruntime_perf_test's numbers).
#include <map>
#include <string>
#include <vector>

#include "core/json_out.h"
#include "graph/graph.h"

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
// "1x3x48x192" -> {1, 3, 48, 192}; UsageError naming `command`'s --shape otherwise.
Shape parse_shape_option(const std::string& command, const std::string& text);
// The one input's shape from --shape for `g` (empty text: none); UsageError when the model has several inputs.
std::map<std::string, Shape> shape_option_inputs(const std::string& command, const graph::Graph& g, const std::string& text);
bool is_onnx_path(const std::string& path);

}  // namespace tern::cli
