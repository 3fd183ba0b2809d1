#include "graph/executor.h"

#include <unordered_map>

#include "core/error.h"
#include "graph/op_registry.h"

namespace tern::graph {

Executor::Executor(const Graph& g) : g_(g), order_(g.topological_order()) {
    for (const Node& n : g.nodes) {
        if (!find_op(n.op_type)) throw n.error("op '" + n.op_type + "' is not supported by tern");
    }
}

namespace {

void check_input(const std::string& name, const ValueInfo* info, const Tensor& t) {
    const std::string where = "input '" + name + "'";
    if (!info) return;
    if (info->dtype && *info->dtype != t.dtype()) {
        throw InputError(where, "is " + std::string(dtype_name(t.dtype())) + ", the model needs " +
                                    std::string(dtype_name(*info->dtype)));
    }
    if (!info->shape) return;
    const Shape& want = *info->shape;
    bool fits = want.size() == t.shape().size();
    for (size_t i = 0; fits && i < want.size(); ++i) fits = want[i] < 0 || want[i] == t.shape()[i];
    if (!fits) {
        Shape shown = want;
        throw InputError(where, "has shape " + shape_to_string(t.shape()) + ", the model needs " +
                                    shape_to_string(shown) + " (-1: any size)");
    }
}

}  // namespace

std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& inputs,
                                            const ValueObserver& observe) const {
    std::unordered_map<std::string, Tensor> live;
    for (const std::string& name : g_.inputs) {
        auto it = inputs.find(name);
        if (it == inputs.end()) throw InputError("input '" + name + "'", "the model needs it and none was given");
        auto info = g_.values.find(name);
        check_input(name, info == g_.values.end() ? nullptr : &info->second, it->second);
        live[name] = it->second;
    }
    for (const auto& [name, t] : inputs) {
        if (!live.count(name)) throw InputError("input '" + name + "'", "the model has no such input");
    }
    // How many more reads each value has; a value is dropped after its last.
    std::unordered_map<std::string, int64_t> reads;
    for (const Node& n : g_.nodes) {
        for (const std::string& in : n.inputs) ++reads[in];
    }
    for (const std::string& out : g_.outputs) ++reads[out];

    auto value = [&](const std::string& name) -> const Tensor* {
        auto it = live.find(name);
        if (it != live.end()) return &it->second;
        auto init = g_.initializers.find(name);
        return init == g_.initializers.end() ? nullptr : &init->second;
    };
    for (size_t i : order_) {
        const Node& n = g_.nodes[i];
        OpContext ctx{n, g_.opset, {}, std::vector<Tensor>(n.outputs.size())};
        for (const std::string& in : n.inputs) ctx.in.push_back(in.empty() ? nullptr : value(in));
        find_op(n.op_type)(ctx);
        for (size_t k = 0; k < n.outputs.size(); ++k) {
            if (n.outputs[k].empty()) continue;
            if (!ctx.out[k].defined()) throw n.error("output " + std::to_string(k) + " is not produced by tern's " + n.op_type);
            if (observe) observe(n.outputs[k], ctx.out[k]);
            live[n.outputs[k]] = std::move(ctx.out[k]);
        }
        for (const std::string& in : n.inputs) {
            if (!in.empty() && --reads[in] == 0) live.erase(in);
        }
    }
    std::map<std::string, Tensor> out;
    for (const std::string& name : g_.outputs) {
        const Tensor* t = value(name);
        if (!t) throw InputError("onnx", "graph output '" + name + "' was not produced");
        out[name] = *t;
    }
    return out;
}

}  // namespace tern::graph
