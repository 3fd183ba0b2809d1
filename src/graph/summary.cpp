#include "graph/summary.h"

#include <map>

namespace tern::graph {

std::string value_shape_text(const ValueInfo& v) {
    if (!v.shape) return "?";
    std::string s = "[";
    for (size_t i = 0; i < v.shape->size(); ++i) {
        if (i) s += ", ";
        s += (*v.shape)[i] < 0 ? "?" : std::to_string((*v.shape)[i]);
    }
    return s + "]";
}

namespace {

Json values_json(const Graph& g, const std::vector<std::string>& names) {
    Json list = Json::array();
    for (const std::string& name : names) {
        auto it = g.values.find(name);
        const ValueInfo v = it == g.values.end() ? ValueInfo{} : it->second;
        Json j;
        j["name"] = name;
        j["dtype"] = v.dtype ? std::string(dtype_name(*v.dtype)) : "?";
        j["shape"] = value_shape_text(v);
        list.push_back(j);
    }
    return list;
}

}  // namespace

Json graph_summary_json(const Graph& g) {
    Json j;
    j["format"] = "onnx";
    j["graph"] = g.name;
    j["opset"] = g.opset;
    j["nodes"] = g.nodes.size();
    std::map<std::string, int64_t> ops;
    for (const Node& n : g.nodes) ++ops[n.op_type];
    Json hist = Json::object();
    for (const auto& [op, count] : ops) hist[op] = count;
    j["ops"] = hist;
    int64_t bytes = 0;
    for (const auto& [name, t] : g.initializers) bytes += static_cast<int64_t>(t.nbytes());
    j["parameters"] = g.parameter_count();
    j["initializers"] = g.initializers.size();
    j["initializer_bytes"] = bytes;
    j["inputs"] = values_json(g, g.inputs);
    j["outputs"] = values_json(g, g.outputs);
    return j;
}

}  // namespace tern::graph
