#include "graph/onnx_import.h"

#include <climits>
#include <set>

#include "core/error.h"
#include "core/read_file.h"
#include "graph/onnx_proto.h"
#include "graph/op_registry.h"
#include "graph/shape_inference.h"

namespace tern::graph {

namespace {

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// Declared dims above this are refused: no real tensor has them, and keeping
// them small keeps shape arithmetic in int64.
constexpr int64_t kMaxDeclaredDim = int64_t{1} << 40;

ValueInfo value_info_from_onnx(const onnx::ValueInfoProto& v, const std::string& where) {
    ValueInfo info;
    if (!v.has_type() || !v.type().has_tensor_type()) return info;
    const auto& tt = v.type().tensor_type();
    info.dtype = dtype_from_onnx(tt.elem_type());
    if (tt.has_shape()) {
        Shape s;
        for (const auto& d : tt.shape().dim()) {
            if (d.has_dim_value() && d.dim_value() > kMaxDeclaredDim) {
                throw InputError(where, format("value '%s' declares dim %lld, over the 2^40 limit", v.name().c_str(),
                                               static_cast<long long>(d.dim_value())));
            }
            s.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : -1);
        }
        info.shape = s;
    }
    return info;
}

// If branches nest at most this deep: deeper is a hostile file, not a model.
constexpr int kMaxSubgraphDepth = 8;

Graph graph_from_onnx(const onnx::GraphProto& gp, int64_t opset, const std::string& where, int depth);

Attribute attribute_from_onnx(const onnx::AttributeProto& a, int64_t opset, const std::string& where, int depth) {
    Attribute out;
    if (!a.ref_attr_name().empty()) throw InputError(where, "attribute '" + a.name() + "' refers to a function attribute");
    switch (a.type()) {
        case onnx::AttributeProto::INT: out.kind = Attribute::Kind::int_, out.i = a.i(); break;
        case onnx::AttributeProto::FLOAT: out.kind = Attribute::Kind::float_, out.f = a.f(); break;
        case onnx::AttributeProto::STRING: out.kind = Attribute::Kind::string, out.s = a.s(); break;
        case onnx::AttributeProto::INTS:
            out.kind = Attribute::Kind::ints;
            out.ints.assign(a.ints().begin(), a.ints().end());
            break;
        case onnx::AttributeProto::FLOATS:
            out.kind = Attribute::Kind::floats;
            out.floats.assign(a.floats().begin(), a.floats().end());
            break;
        case onnx::AttributeProto::STRINGS:
            out.kind = Attribute::Kind::strings;
            out.strings.assign(a.strings().begin(), a.strings().end());
            break;
        case onnx::AttributeProto::TENSOR:
            out.kind = Attribute::Kind::tensor;
            out.t = tensor_from_onnx(a.t(), where + " attribute '" + a.name() + "'");
            break;
        case onnx::AttributeProto::GRAPH:
            if (depth + 1 > kMaxSubgraphDepth) {
                throw InputError(where, format("attribute '%s': subgraphs nest over %d deep", a.name().c_str(), kMaxSubgraphDepth));
            }
            out.kind = Attribute::Kind::graph;
            out.graph = std::make_shared<const Graph>(graph_from_onnx(a.g(), opset, where + " attribute '" + a.name() + "'", depth + 1));
            break;
        default:
            throw InputError(where, "attribute '" + a.name() + "' has type " +
                                        onnx::AttributeProto::AttributeType_Name(a.type()) +
                                        ", which tern does not support yet");
    }
    return out;
}

// The values of enclosing graphs a node's subgraphs read become its trailing
// (implicit) inputs, so the enclosing graph orders, keeps alive and checks them.
void add_implicit_inputs(Node& n) {
    std::set<std::string> outer;
    for (const auto& [name, a] : n.attributes) {
        if (a.kind == Attribute::Kind::graph) outer.insert(a.graph->inputs.begin(), a.graph->inputs.end());
    }
    n.inputs.insert(n.inputs.end(), outer.begin(), outer.end());
    n.implicit_inputs = outer.size();
}

// Names a subgraph reads (node inputs, outputs passed through) that neither
// its nodes nor its initializers define: they come from enclosing graphs.
std::vector<std::string> outer_references(const Graph& g) {
    std::set<std::string> defined, outer;
    for (const auto& [name, t] : g.initializers) defined.insert(name);
    for (const Node& n : g.nodes) defined.insert(n.outputs.begin(), n.outputs.end());
    for (const Node& n : g.nodes) {
        for (const std::string& in : n.inputs) {
            if (!in.empty() && !defined.count(in)) outer.insert(in);
        }
    }
    for (const std::string& out : g.outputs) {
        if (!defined.count(out)) outer.insert(out);
    }
    return {outer.begin(), outer.end()};
}

Graph graph_from_onnx(const onnx::GraphProto& gp, int64_t opset, const std::string& where, int depth) {
    Graph g;
    g.opset = opset;
    g.name = gp.name();
    if (gp.sparse_initializer_size() > 0) throw InputError(where, "sparse initializers are not supported yet");
    for (const auto& t : gp.initializer()) {
        if (t.name().empty()) throw InputError(where, "an initializer has no name");
        if (!g.initializers.emplace(t.name(), tensor_from_onnx(t, where + " initializer")).second) {
            throw InputError(where, "initializer '" + t.name() + "' is defined twice");
        }
    }
    auto note_value = [&](const onnx::ValueInfoProto& v) {
        ValueInfo info = value_info_from_onnx(v, where);
        ValueInfo& slot = g.values[v.name()];
        if (info.shape) slot.shape = info.shape;
        if (info.dtype) slot.dtype = info.dtype;
    };
    // If branches take no inputs (Loop and Scan bodies do; tern runs neither).
    if (depth > 0 && gp.input_size() > 0) throw InputError(where, "a subgraph with inputs (Loop/Scan bodies) is not supported");
    for (const auto& v : gp.input()) {
        if (v.name().empty()) throw InputError(where, "a graph input has no name");
        note_value(v);
        // Older models also list initializers as inputs (defaults that may be overridden); tern treats them as constants.
        if (!g.initializers.count(v.name())) g.inputs.push_back(v.name());
    }
    for (const auto& v : gp.output()) {
        if (v.name().empty()) throw InputError(where, "a graph output has no name");
        note_value(v);
        g.outputs.push_back(v.name());
    }
    for (const auto& v : gp.value_info()) note_value(v);
    for (const auto& [name, t] : g.initializers) g.values[name] = ValueInfo{t.shape(), t.dtype()};

    g.nodes.reserve(gp.node_size());
    for (int i = 0; i < gp.node_size(); ++i) {
        const onnx::NodeProto& np = gp.node(i);
        Node n;
        n.op_type = np.op_type();
        n.name = np.name().empty() ? np.op_type() + "_" + std::to_string(i) : np.name();
        const std::string node_where = "node '" + n.name + "'";
        if (!is_default_domain(np.domain())) {
            throw InputError(where, node_where + ": op '" + n.op_type + "' of domain '" + np.domain() +
                                        "' is not supported (tern runs the default ONNX domain)");
        }
        if (!find_op(n.op_type)) throw InputError(where, node_where + ": op '" + n.op_type + "' is not supported by tern");
        n.inputs.assign(np.input().begin(), np.input().end());
        n.outputs.assign(np.output().begin(), np.output().end());
        for (const auto& a : np.attribute()) {
            if (!n.attributes.emplace(a.name(), attribute_from_onnx(a, opset, where + " " + node_where, depth)).second) {
                throw InputError(where, node_where + ": attribute '" + a.name() + "' is given twice");
            }
        }
        add_implicit_inputs(n);
        g.nodes.push_back(std::move(n));
    }
    if (depth > 0) g.inputs = outer_references(g);
    try {
        infer_shapes(g);  // orders the graph first: a cycle is refused here too
    } catch (const InputError& e) {
        throw InputError(where, e.what());
    }
    return g;
}

}  // namespace

Graph import_onnx_bytes(const void* data, size_t size, const std::string& where) {
    if (size > static_cast<size_t>(INT_MAX)) throw InputError(where, "file is over 2 GiB, the protobuf limit");
    onnx::ModelProto model;
    if (size == 0 || !model.ParseFromArray(data, static_cast<int>(size)) || !model.has_graph()) {
        throw InputError(where, "not an ONNX model (protobuf ModelProto with a graph expected)");
    }
    int64_t opset = 0;
    for (const auto& op : model.opset_import()) {
        if (is_default_domain(op.domain())) opset = op.version();
    }
    if (opset == 0) {
        const std::string other = model.opset_import_size() > 0 ? " (it imports '" + model.opset_import(0).domain() + "')" : "";
        throw InputError(where, "the model imports no opset of the default ONNX domain" + other);
    }
    if (opset < kMinOnnxOpset || opset > kMaxOnnxOpset) {
        throw InputError(where, format("default-domain opset %lld is outside the supported range %lld..%lld",
                                       static_cast<long long>(opset), static_cast<long long>(kMinOnnxOpset),
                                       static_cast<long long>(kMaxOnnxOpset)));
    }
    return graph_from_onnx(model.graph(), opset, where, 0);
}

Graph import_onnx_file(const std::string& path) {
    const std::string bytes = read_whole_file(path);
    return import_onnx_bytes(bytes.data(), bytes.size(), path);
}

}  // namespace tern::graph
