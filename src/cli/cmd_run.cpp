// tern run MODEL.onnx|.tflite --input FILE.npy|IMAGE [--input ...] [--output OUT.npy ...] [--json]
//   [--image-norm unit|imagenet|paddle-det|paddle-rec] [--image-size WxH]
// and the graph-model half of `tern info`.
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/graph_bench.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/printable.h"
#include "graph/executor.h"
#include "graph/model_file.h"
#include "graph/plan_summary.h"
#include "graph/qdq_fuse.h"
#include "graph/summary.h"
#include "io/image.h"
#include "io/npy.h"
#include "vision/image_tensor.h"

namespace tern::cli {
namespace {

struct GraphRunOptions {
    std::string model;
    std::vector<std::string> inputs, outputs;
    bool json = false;
    int threads = 0;
    std::string image_norm = "unit", image_size;
};

// Values shown per output without --output (the rest are summarised).
constexpr int64_t kShownValues = 16;
constexpr int64_t kJsonValues = 4096;

Json output_json(const std::string& name, const Tensor& t) {
    Json j;
    j["name"] = name;
    j["dtype"] = std::string(dtype_name(t.dtype()));
    j["shape"] = t.shape();
    if (dtype_info(t.dtype()).block_size == 1 && t.numel() <= kJsonValues) j["values"] = t.to_floats();
    return j;
}

void print_output(const std::string& name, const Tensor& t) {
    std::printf("%s  %s %s", printable(name).c_str(), std::string(dtype_name(t.dtype())).c_str(),
                shape_to_string(t.shape()).c_str());
    const std::vector<float> v = t.to_floats();
    if (!v.empty()) {
        double lo = v[0], hi = v[0], sum = 0;
        for (float x : v) lo = std::fmin(lo, x), hi = std::fmax(hi, x), sum += x;
        std::printf("  min %.6g max %.6g mean %.6g", lo, hi, sum / static_cast<double>(v.size()));
    }
    std::printf("\n ");
    for (int64_t i = 0; i < std::min<int64_t>(kShownValues, static_cast<int64_t>(v.size())); ++i) std::printf(" %.6g", v[i]);
    if (static_cast<int64_t>(v.size()) > kShownValues) std::printf(" ...");
    std::printf("\n");
}

// --image-size WxH; {0, 0} when not given. UsageError with the allowed form otherwise.
std::pair<int64_t, int64_t> parse_image_size(const std::string& text) {
    if (text.empty()) return {0, 0};
    long long w = 0, h = 0;
    char extra = 0;
    if (std::sscanf(text.c_str(), "%lldx%lld%c", &w, &h, &extra) != 2 || w < 1 || h < 1 || w > 65536 || h > 65536) {
        throw UsageError("--image-size", "'" + text + "' is not WIDTHxHEIGHT with each side in 1..65536");
    }
    return {w, h};
}

// A PNG/JPEG input as (1, 3, H, W): H and W from --image-size, else the model's fixed dims, else the picture's.
Tensor image_input(const GraphRunOptions& o, const std::string& name, const graph::ValueInfo* info, const std::string& path) {
    const vision::ImageNorm norm = vision::parse_image_norm(o.image_norm);
    auto [w, h] = parse_image_size(o.image_size);
    if (info && info->shape) {
        const Shape& s = *info->shape;
        if (s.size() != 4 || (s[1] >= 0 && s[1] != 3)) {
            throw InputError(o.model, "input '" + name + "' has shape " + shape_to_string(s) + "; a picture fills (N, 3, H, W)");
        }
        if (w == 0 && s[3] > 0) w = s[3];
        if (h == 0 && s[2] > 0) h = s[2];
    }
    const RgbImage img = read_image(path);
    return vision::image_tensor(img, norm, w ? w : img.width, h ? h : img.height);
}

void run_model(const GraphRunOptions& o) {
    (void)vision::parse_image_norm(o.image_norm);  // bad options fail before any file is read
    (void)parse_image_size(o.image_size);
    // QDQ patterns run as integer QLinear ops on the int8 kernels, as ONNX Runtime runs them.
    const graph::Graph g = graph::fuse_qdq(graph::import_graph_file(o.model));
    if (o.inputs.size() != g.inputs.size()) {
        std::string names;
        for (const auto& n : g.inputs) names += (names.empty() ? "" : ", ") + n;
        throw UsageError("run", format("the model takes %zu input(s) (%s); %zu --input given, one .npy per input in order",
                                       g.inputs.size(), names.c_str(), o.inputs.size()));
    }
    if (o.outputs.size() > g.outputs.size()) {
        throw UsageError("run", format("the model has %zu output(s); %zu --output given", g.outputs.size(), o.outputs.size()));
    }
    std::map<std::string, Tensor> feeds;
    for (size_t i = 0; i < o.inputs.size(); ++i) {
        const auto info = g.values.find(g.inputs[i]);
        feeds[g.inputs[i]] = is_image_path(o.inputs[i]) ? image_input(o, g.inputs[i], info == g.values.end() ? nullptr : &info->second, o.inputs[i])
                                                        : read_npy(o.inputs[i]);
    }
    const graph::Executor exec(g);
    std::map<std::string, Tensor> results;
    try {
        results = exec.run(feeds);
    } catch (const InputError& e) {
        throw InputError(o.model, e.what());
    }
    for (size_t i = 0; i < o.outputs.size(); ++i) write_npy(o.outputs[i], results.at(g.outputs[i]));
    if (o.json) {
        Json j;
        j["model"] = o.model;
        Json outs = Json::array();
        for (const auto& name : g.outputs) outs.push_back(output_json(name, results.at(name)));
        j["outputs"] = outs;
        print_json(j);
        return;
    }
    for (const auto& name : g.outputs) print_output(name, results.at(name));
    for (size_t i = 0; i < o.outputs.size(); ++i) {
        std::printf("wrote %s -> %s\n", printable(g.outputs[i]).c_str(), printable(o.outputs[i]).c_str());
    }
}

}  // namespace

void print_onnx_info(const std::string& path, bool json, const std::string& shape) {
    if (!shape.empty()) parse_shape_option("info", shape);
    const graph::GraphFileFormat format = graph::graph_file_format(path);
    const graph::Graph g = graph::import_graph_file(path);
    const std::map<std::string, Shape> given = shape_option_inputs("info", g, shape);
    Json j = graph::graph_summary_json(g);
    j["format"] = graph::graph_file_format_name(format);
    Json plan;
    try {
        plan = graph::plan_summary_json(g, given);
    } catch (const InputError& e) {
        if (!given.empty()) throw InputError(path, std::string("--shape ") + shape + ": " + e.what());
        plan["planned"] = false;
        plan["why"] = std::string(e.what());
    }
    const bool planned = plan["planned"].get<bool>();
    for (const char* key : {"peak_activation_bytes", "naive_activation_bytes", "macs"}) j[key] = planned ? plan[key] : Json();
    j["plan"] = plan;
    if (json) {
        print_json(j);
        return;
    }
    if (format == graph::GraphFileFormat::onnx) {
        std::printf("model      %s (ONNX, opset %lld)\n", printable(path).c_str(), j["opset"].get<long long>());
    } else {
        std::printf("model      %s (%s, as ONNX-opset-%lld ops)\n", printable(path).c_str(), graph::graph_file_format_name(format),
                    j["opset"].get<long long>());
    }
    std::printf("nodes      %zu\n", j["nodes"].get<size_t>());
    std::printf("parameters %lld (%lld bytes in %zu initializers)\n", j["parameters"].get<long long>(),
                j["initializer_bytes"].get<long long>(), j["initializers"].get<size_t>());
    for (const char* kind : {"inputs", "outputs"}) {
        for (const auto& v : j[kind]) {
            std::printf("%-10s %s  %s %s\n", kind == std::string("inputs") ? "input" : "output",
                        printable(v["name"].get<std::string>()).c_str(), v["dtype"].get<std::string>().c_str(),
                        v["shape"].get<std::string>().c_str());
        }
    }
    if (planned) {
        std::string shapes;
        for (const auto& [name, shape] : plan["input_shapes"].items()) {
            shapes += (shapes.empty() ? "" : ", ") + printable(name) + " " + shape_to_string(shape.get<Shape>());
        }
        const auto peak = plan["peak_activation_bytes"].get<long long>(), naive = plan["naive_activation_bytes"].get<long long>();
        std::printf("MACs       %lld at %s\n", plan["macs"].get<long long>(), shapes.c_str());
        std::printf("activations %lld bytes peak in the planned arena, %lld allocating every tensor (%.1fx)\n", peak, naive,
                    peak ? static_cast<double>(naive) / static_cast<double>(peak) : 0.0);
        std::printf("plan       %lld nodes after passes, %lld on prepared kernels, %lld on reference ops\n",
                    plan["optimized_nodes"].get<long long>(), plan["prepared_nodes"].get<long long>(),
                    plan["reference_nodes"].get<long long>());
    } else {
        std::printf("plan       none: %s\n", printable(plan["why"].get<std::string>()).c_str());
    }
    std::printf("ops\n");
    for (const auto& [op, count] : j["ops"].items()) std::printf("  %-24s %lld\n", printable(op).c_str(), count.get<long long>());
}

void add_run_command(CLI::App& app) {
    auto opts = std::make_shared<GraphRunOptions>();
    auto* cmd = app.add_subcommand("run", "Run an ONNX or TFLite model on .npy or picture inputs");
    cmd->add_option("model", opts->model, "model file (.onnx, .tflite)")->required();
    cmd->add_option("-i,--input", opts->inputs, "one .npy file (or .png/.jpg picture) per model input, in the model's input order")->required();
    cmd->add_option("--image-norm", opts->image_norm, std::string("how pictures become tensors: ") + vision::kImageNormNames + " (default unit)");
    cmd->add_option("--image-size", opts->image_size, "resize pictures to WIDTHxHEIGHT (default: the model's fixed size, else the picture's)");
    cmd->add_option("-o,--output", opts->outputs, "write the model's outputs, in order, to these .npy files");
    cmd->add_flag("--json", opts->json, "machine-readable output (values of outputs up to 4096 elements)");
    add_threads_option(*cmd, opts->threads);
    cmd->callback([opts] {
        apply_threads(opts->threads);
        run_model(*opts);
    });
}

}  // namespace tern::cli
