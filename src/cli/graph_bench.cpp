#include "cli/graph_bench.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "core/error.h"
#include "core/thread_pool.h"
#include "graph/model_file.h"
#include "graph/qdq_fuse.h"
#include "graph/passes.h"
#include "graph/plan_summary.h"
#include "graph/prepared_executor.h"

namespace tern::cli {

bool is_onnx_path(const std::string& path) {
    return path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0;
}

namespace {

// The value at fraction q of the sorted runs (nearest rank).
double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
    return v[i];
}

}  // namespace

Shape parse_shape_option(const std::string& command, const std::string& text) {
    Shape s;
    size_t pos = 0;
    while (pos <= text.size()) {
        const size_t x = std::min(text.find('x', pos), text.size());
        const std::string part = text.substr(pos, x - pos);
        if (part.empty() || part.size() > 9 || part.find_first_not_of("0123456789") != std::string::npos || std::stoll(part) < 1) {
            throw UsageError(command, "--shape '" + text + "': want dims of 1 to 999999999 joined by x, e.g. 1x3x48x192");
        }
        s.push_back(std::stoll(part));
        pos = x + 1;
    }
    return s;
}

std::map<std::string, Shape> shape_option_inputs(const std::string& command, const graph::Graph& g, const std::string& text) {
    if (text.empty()) return {};
    const Shape given = parse_shape_option(command, text);
    if (g.inputs.size() != 1) {
        throw UsageError(command, format("--shape sets the one input's shape; the model has %zu inputs", g.inputs.size()));
    }
    return {{g.inputs[0], given}};
}

std::vector<GraphBenchResult> run_graph_bench(const std::string& model, const std::vector<int>& threads, int runs,
                                              const std::string& shape) {
    if (runs < 1) throw UsageError("bench", "--runs must be >= 1");
    if (!shape.empty()) parse_shape_option("bench", shape);  // a bad --shape is a usage error before the model is read
    const graph::Graph g = graph::optimize(graph::fuse_qdq(graph::import_graph_file(model)));
    const std::map<std::string, Shape> fixed = shape_option_inputs("bench", g, shape);
    std::string why;
    std::optional<std::map<std::string, Shape>> shapes;
    try {
        shapes = graph::planning_shapes(g, &why, fixed);
    } catch (const InputError& e) {
        throw InputError(model, e.what());
    }
    if (!shapes) throw InputError(model, why + "; give it with --shape, e.g. --shape 1x3x48x192");
    const auto inputs = graph::sample_inputs(g, *shapes);
    std::vector<GraphBenchResult> out;
    for (int t : threads) {
        set_default_threads(t);
        std::unique_ptr<graph::PreparedExecutor> exec;
        try {
            exec = std::make_unique<graph::PreparedExecutor>(g, *shapes);
            exec->run(inputs);  // warm-up: pages touched, scratch grown, pool started
        } catch (const InputError& e) {
            throw InputError(model, e.what());
        }
        GraphBenchResult r;
        r.model = model;
        r.threads = t;
        r.runs = runs;
        r.peak_activation_bytes = exec->peak_activation_bytes();
        for (int i = 0; i < runs; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            exec->run(inputs);
            r.runs_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        r.median_ms = quantile(r.runs_ms, 0.5);
        r.p90_ms = quantile(r.runs_ms, 0.9);
        r.min_ms = *std::min_element(r.runs_ms.begin(), r.runs_ms.end());
        out.push_back(std::move(r));
    }
    return out;
}

Json graph_bench_json(const GraphBenchResult& r) {
    Json j;
    j["model"] = r.model;
    j["threads"] = r.threads;
    j["runs"] = r.runs;
    j["median_ms"] = r.median_ms;
    j["p90_ms"] = r.p90_ms;
    j["min_ms"] = r.min_ms;
    j["peak_activation_bytes"] = r.peak_activation_bytes;
    return j;
}

}  // namespace tern::cli
