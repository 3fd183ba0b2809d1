#include "graph/onnx_export.h"

#include <climits>
#include <set>

#include "core/atomic_file_writer.h"
#include "core/error.h"
#include "core/version.h"
#include "graph/onnx_proto.h"

namespace tern::graph {

namespace {

const char* kWhere = "onnx export";

// The IR version that introduced each opset's release, so a reader as old as
// the opset accepts the file (ONNX's own table in docs/Versioning.md).
int64_t ir_version_for_opset(int64_t opset) {
    if (opset <= 8) return 3;
    if (opset == 9) return 4;
    if (opset == 10) return 5;
    if (opset == 11) return 6;
    if (opset <= 14) return 7;
    if (opset <= 18) return 8;
    if (opset <= 20) return 9;
    return 10;
}

void value_info_to_onnx(const std::string& name, const ValueInfo* info, onnx::ValueInfoProto& out) {
    out.set_name(name);
    if (!info || !info->dtype) return;
    const auto type = dtype_to_onnx(*info->dtype);
    if (!type) throw InputError(kWhere, "value '" + name + "' has dtype " + std::string(dtype_name(*info->dtype)) +
                                            ", which ONNX has no type for");
    auto* tt = out.mutable_type()->mutable_tensor_type();
    tt->set_elem_type(*type);
    if (!info->shape) return;
    auto* shape = tt->mutable_shape();
    for (int64_t d : *info->shape) {
        auto* dim = shape->add_dim();
        if (d >= 0) dim->set_dim_value(d);  // an unknown dim stays without a value, as the importer reads it
    }
}

void graph_to_onnx(const Graph& g, bool subgraph, onnx::GraphProto& gp);

void attribute_to_onnx(const std::string& name, const Attribute& a, const std::string& where, onnx::AttributeProto& out) {
    out.set_name(name);
    switch (a.kind) {
        case Attribute::Kind::int_: out.set_type(onnx::AttributeProto::INT), out.set_i(a.i); break;
        case Attribute::Kind::float_: out.set_type(onnx::AttributeProto::FLOAT), out.set_f(a.f); break;
        case Attribute::Kind::string: out.set_type(onnx::AttributeProto::STRING), out.set_s(a.s); break;
        case Attribute::Kind::ints:
            out.set_type(onnx::AttributeProto::INTS);
            for (int64_t v : a.ints) out.add_ints(v);
            break;
        case Attribute::Kind::floats:
            out.set_type(onnx::AttributeProto::FLOATS);
            for (float v : a.floats) out.add_floats(v);
            break;
        case Attribute::Kind::strings:
            out.set_type(onnx::AttributeProto::STRINGS);
            for (const auto& v : a.strings) out.add_strings(v);
            break;
        case Attribute::Kind::tensor:
            out.set_type(onnx::AttributeProto::TENSOR);
            tensor_to_onnx(a.t, name, where, *out.mutable_t());
            break;
        case Attribute::Kind::graph:
            out.set_type(onnx::AttributeProto::GRAPH);
            graph_to_onnx(*a.graph, true, *out.mutable_g());
            break;
    }
}

const ValueInfo* find_value(const Graph& g, const std::string& name) {
    auto it = g.values.find(name);
    return it == g.values.end() ? nullptr : &it->second;
}

void graph_to_onnx(const Graph& g, bool subgraph, onnx::GraphProto& gp) {
    gp.set_name(g.name.empty() ? "tern" : g.name);
    for (const auto& [name, t] : g.initializers) tensor_to_onnx(t, name, kWhere, *gp.add_initializer());
    // A subgraph's inputs are the enclosing graphs' values it reads: ONNX names them without declaring them.
    if (!subgraph) {
        for (const auto& name : g.inputs) value_info_to_onnx(name, find_value(g, name), *gp.add_input());
    }
    for (const auto& name : g.outputs) value_info_to_onnx(name, find_value(g, name), *gp.add_output());
    // Intermediate values with a known dtype: readers may check their own
    // inference against them, and tern's importer takes them back as declared.
    const std::set<std::string> listed(g.inputs.begin(), g.inputs.end());
    const std::set<std::string> outs(g.outputs.begin(), g.outputs.end());
    for (const auto& [name, info] : g.values) {
        if (name.empty() || listed.count(name) || outs.count(name) || g.initializers.count(name) || !info.dtype) continue;
        value_info_to_onnx(name, &info, *gp.add_value_info());
    }
    // Nodes in an order every reader accepts (ONNX requires topological order in the file).
    for (size_t i : g.topological_order()) {
        const Node& n = g.nodes[i];
        onnx::NodeProto& np = *gp.add_node();
        np.set_op_type(n.op_type);
        np.set_name(n.name);
        for (size_t k = 0; k + n.implicit_inputs < n.inputs.size(); ++k) np.add_input(n.inputs[k]);
        for (const auto& out : n.outputs) np.add_output(out);
        const std::string where = std::string(kWhere) + " node '" + n.name + "'";
        for (const auto& [name, a] : n.attributes) attribute_to_onnx(name, a, where, *np.add_attribute());
    }
}

}  // namespace

std::string export_onnx_bytes(const Graph& g) {
    onnx::ModelProto model;
    model.set_ir_version(ir_version_for_opset(g.opset));
    model.set_producer_name("tern");
    model.set_producer_version(kTernVersion);
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(g.opset);

    graph_to_onnx(g, false, *model.mutable_graph());
    const size_t size = model.ByteSizeLong();
    if (size > static_cast<size_t>(INT_MAX)) {
        throw InputError(kWhere, format("the model needs %zu bytes, over the 2 GiB protobuf limit", size));
    }
    std::string bytes;
    if (!model.SerializeToString(&bytes)) throw InputError(kWhere, "protobuf serialization failed");
    return bytes;
}

void export_onnx_file(const Graph& g, const std::string& path) {
    const std::string bytes = export_onnx_bytes(g);  // before the file is created: a refused graph leaves nothing
    AtomicFileWriter out(path);
    out.write(bytes.data(), bytes.size());
    out.commit();
}

}  // namespace tern::graph
