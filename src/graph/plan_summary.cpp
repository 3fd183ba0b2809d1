#include "graph/plan_summary.h"

#include <algorithm>
#include <cmath>

#include "graph/passes.h"
#include "graph/summary.h"
#include "graph/prepared_executor.h"

namespace tern::graph {

std::optional<std::map<std::string, Shape>> planning_shapes(const Graph& g, std::string* why,
                                                            const std::map<std::string, Shape>& given) {
    std::map<std::string, Shape> shapes;
    for (const auto& [name, s] : given) {
        if (std::find(g.inputs.begin(), g.inputs.end(), name) == g.inputs.end()) {
            throw InputError("input '" + name + "'", "the model has no such input");
        }
    }
    for (const std::string& name : g.inputs) {
        auto it = g.values.find(name);
        auto want = given.find(name);
        if (want != given.end()) {
            const bool declared = it != g.values.end() && it->second.shape;
            bool fits = !declared || it->second.shape->size() == want->second.size();
            for (size_t d = 0; fits && declared && d < want->second.size(); ++d) {
                const int64_t have = (*it->second.shape)[d];
                fits = want->second[d] >= 0 && (have < 0 || have == want->second[d]);
            }
            if (!fits) {
                throw InputError("input '" + name + "'", "shape " + shape_to_string(want->second) + " does not fit the declared " +
                                                             value_shape_text(it->second));
            }
            shapes[name] = want->second;
            continue;
        }
        if (it == g.values.end() || !it->second.shape) {
            if (why) *why = "input '" + name + "' has no declared shape";
            return std::nullopt;
        }
        Shape s = *it->second.shape;
        for (size_t d = 0; d < s.size(); ++d) {
            if (s[d] >= 0) continue;
            if (d != 0) {
                if (why) *why = "input '" + name + "' has dim " + std::to_string(d) + " unknown before run time";
                return std::nullopt;
            }
            s[d] = 1;
        }
        shapes[name] = s;
    }
    return shapes;
}

std::map<std::string, Tensor> sample_inputs(const Graph& g, const std::map<std::string, Shape>& shapes) {
    std::map<std::string, Tensor> in;
    for (const auto& [name, shape] : shapes) {
        auto it = g.values.find(name);
        const DType dt = it != g.values.end() && it->second.dtype ? *it->second.dtype : DType::f32;
        Tensor t = Tensor::zeros(shape, dt);
        if (dt == DType::f32) {
            for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = std::sin(0.01f * static_cast<float>(i));
        }
        in[name] = std::move(t);
    }
    return in;
}

Json plan_summary_json(const Graph& g, const std::map<std::string, Shape>& given) {
    Json j;
    std::string why;
    const auto shapes = planning_shapes(g, &why, given);
    if (!shapes) {
        j["planned"] = false;
        j["why"] = why;
        return j;
    }
    // Planning runs the model once on zeros (to learn every value's shape): not for inputs of absurd size.
    int64_t input_bytes = 0;
    for (const auto& [name, s] : *shapes) input_bytes += 4 * shape_numel(s);
    if (input_bytes > kMaxPlannedInputBytes) {
        j["planned"] = false;
        j["why"] = "inputs of " + std::to_string(input_bytes) + " bytes: too large to plan here";
        return j;
    }
    const Graph opt = optimize(g);
    PreparedExecutor exec(opt, *shapes);
    j["planned"] = true;
    Json in = Json::object();
    for (const auto& [name, s] : *shapes) in[name] = s;
    j["input_shapes"] = in;
    j["peak_activation_bytes"] = exec.peak_activation_bytes();
    j["naive_activation_bytes"] = exec.naive_activation_bytes();
    j["macs"] = exec.macs();
    j["optimized_nodes"] = opt.nodes.size();
    j["prepared_nodes"] = exec.prepared_nodes();
    j["reference_nodes"] = exec.reference_nodes();
    return j;
}

}  // namespace tern::graph
