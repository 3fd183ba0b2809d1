#include "graph/opset_upgrade.h"

#include <limits>
#include <string>
#include <vector>

#include "core/error.h"

namespace tern::graph {
namespace {

// A new initializer named after the node and the input it becomes.
std::string opset_up_const(Graph& g, const Node& n, const std::string& what, Tensor t) {
    std::string name = n.name + "_" + what;
    while (g.initializers.count(name) || g.values.count(name)) name += "_";
    g.initializers[name] = std::move(t);
    return name;
}

Tensor opset_up_ints(const std::vector<int64_t>& v) {
    Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i64);
    for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
    return t;
}

Tensor opset_up_scalar(float v) { return Tensor::from_floats({}, std::span<const float>(&v, 1)); }

// Attribute `attr` (ints) moved to input `slot` (earlier missing inputs as "").
void opset_up_move_ints(Graph& g, Node& n, const std::string& attr, size_t slot) {
    if (!n.has(attr)) return;
    const std::vector<int64_t> v = n.attr_ints(attr);
    n.attributes.erase(attr);
    if (n.inputs.size() <= slot) n.inputs.resize(slot + 1);
    n.inputs[slot] = opset_up_const(g, n, attr, opset_up_ints(v));
}

}  // namespace

Graph upgrade_opset(Graph g, int64_t target) {
    const int64_t from = g.opset;
    if (from >= target) return g;
    std::vector<Node> added;
    for (Node& n : g.nodes) {
        const std::string& op = n.op_type;
        if (op == "Clip" && from < 11 && target >= 11) {
            const float lo = n.attr_float("min", std::numeric_limits<float>::lowest());
            const float hi = n.attr_float("max", std::numeric_limits<float>::max());
            n.attributes.erase("min");
            n.attributes.erase("max");
            n.inputs.resize(3);
            n.inputs[1] = opset_up_const(g, n, "min", opset_up_scalar(lo));
            n.inputs[2] = opset_up_const(g, n, "max", opset_up_scalar(hi));
        } else if (op == "Slice" && from < 10 && target >= 10) {
            opset_up_move_ints(g, n, "starts", 1);
            opset_up_move_ints(g, n, "ends", 2);
            opset_up_move_ints(g, n, "axes", 3);
        } else if (op == "Pad" && from < 11 && target >= 11) {
            const float value = n.attr_float("value", 0.f);
            n.attributes.erase("value");
            opset_up_move_ints(g, n, "pads", 1);
            if (value != 0.f) n.inputs.push_back(opset_up_const(g, n, "value", opset_up_scalar(value)));
        } else if ((op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") && from < 13 && target >= 13) {
            opset_up_move_ints(g, n, "axes", 1);
        } else if (op == "Split" && from < 13 && target >= 13) {
            opset_up_move_ints(g, n, "split", 1);
        } else if (op == "TopK" && from < 10 && target >= 10) {
            const int64_t k = n.attr_int("k", 1);
            n.attributes.erase("k");
            n.inputs.resize(2);
            n.inputs[1] = opset_up_const(g, n, "k", opset_up_ints({k}));
        } else if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && from < 13 && target >= 13) {
            // Before 13 the input is flattened to 2-D at axis (default 1). The same as
            // the per-axis form when axis is the last dim; otherwise (or with the rank
            // unknown) it is spelled out: Flatten(axis) -> op(-1) -> Reshape to Shape(x).
            auto it = n.inputs.empty() ? g.values.end() : g.values.find(n.inputs[0]);
            const int64_t axis = n.attr_int("axis", 1);
            const bool known = it != g.values.end() && it->second.shape;
            const int64_t rank = known ? static_cast<int64_t>(it->second.shape->size()) : -1;
            n.attributes["axis"] = int_attr(-1);
            if (known && (axis == rank - 1 || axis == -1)) continue;
            if (n.inputs.empty() || n.outputs.size() != 1) throw n.error(op + " needs one input and one output");
            const std::string x = n.inputs[0], y = n.outputs[0], flat = n.name + "_flat2d", soft = n.name + "_2d",
                              shape = n.name + "_shape";
            added.push_back({"Flatten", n.name + "_Flatten", {x}, {flat}, {{"axis", int_attr(axis)}}});
            added.push_back({"Shape", n.name + "_Shape", {x}, {shape}, {}});
            added.push_back({"Reshape", n.name + "_Reshape", {soft, shape}, {y}, {}});
            n.inputs[0] = flat;
            n.outputs[0] = soft;
        } else if ((op == "Resize" || op == "Upsample") && from < 11 && target >= 11) {
            throw n.error(op + " of opset " + std::to_string(from) + " cannot be rewritten for opset " + std::to_string(target));
        }
    }
    g.nodes.insert(g.nodes.end(), added.begin(), added.end());  // nodes are ordered topologically where they are read
    g.opset = target;
    return g;
}

}  // namespace tern::graph
