#pragma once
// graph::Graph: a static dataflow graph as ONNX describes one. Values are
// named edges with an optional shape and dtype (a dim of -1 is not known
// before run time); initializers are tern Tensors; nodes carry typed
// attributes. The importers (onnx_import.h) build it, shape inference
// (shape_inference.h) fills in value shapes, the executor (executor.h) runs it.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"

namespace tern::graph {

struct Graph;

struct Attribute {
    enum class Kind { int_, float_, string, ints, floats, tensor, strings, graph };
    Kind kind = Kind::int_;
    int64_t i = 0;
    float f = 0;
    std::string s;
    std::vector<int64_t> ints;
    std::vector<float> floats;
    Tensor t;
    std::vector<std::string> strings;
    std::shared_ptr<const Graph> graph;  // a subgraph (If's branches)
};
const char* attribute_kind_name(Attribute::Kind k);

// Attribute values for the code that builds graphs (importers, exporters, PTQ).
inline Attribute int_attr(int64_t v) {
    Attribute a;
    a.kind = Attribute::Kind::int_, a.i = v;
    return a;
}
inline Attribute ints_attr(std::vector<int64_t> v) {
    Attribute a;
    a.kind = Attribute::Kind::ints, a.ints = std::move(v);
    return a;
}
inline Attribute float_attr(float v) {
    Attribute a;
    a.kind = Attribute::Kind::float_, a.f = v;
    return a;
}
inline Attribute string_attr(std::string v) {
    Attribute a;
    a.kind = Attribute::Kind::string, a.s = std::move(v);
    return a;
}

struct Node {
    std::string op_type;
    std::string name;                  // never empty: the importer names unnamed nodes "<op>_<index>"
    std::vector<std::string> inputs;   // "" marks an omitted optional input
    std::vector<std::string> outputs;  // "" marks an omitted optional output
    std::map<std::string, Attribute> attributes;
    // The last `implicit_inputs` inputs are not the op's own: values of this
    // graph its subgraphs read (Graph::inputs of a subgraph). The ONNX writer drops them.
    size_t implicit_inputs = 0;

    bool has(const std::string& attr) const { return attributes.count(attr) != 0; }
    // Typed attribute reads: the default when absent, InputError naming the
    // node when present with another kind.
    int64_t attr_int(const std::string& attr, int64_t fallback) const;
    float attr_float(const std::string& attr, float fallback) const;
    std::string attr_string(const std::string& attr, const std::string& fallback) const;
    std::vector<int64_t> attr_ints(const std::string& attr, const std::vector<int64_t>& fallback = {}) const;
    std::vector<float> attr_floats(const std::string& attr, const std::vector<float>& fallback = {}) const;
    std::vector<std::string> attr_strings(const std::string& attr, const std::vector<std::string>& fallback = {}) const;
    const Tensor& attr_tensor(const std::string& attr) const;  // throws when absent
    const Graph& attr_graph(const std::string& attr) const;    // throws when absent

    // Input i when present and not "", else nullopt.
    bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
    // The InputError for a problem with this node:
    // "[onnx] node 'Conv_12': weight has 3 dims, Conv needs 4".
    InputError error(const std::string& what) const;
};

struct ValueInfo {
    std::optional<Shape> shape;  // nullopt: rank unknown; a dim of -1: that dim unknown
    std::optional<DType> dtype;
};

struct Graph {
    std::string name;
    int64_t opset = 0;  // of the default ONNX domain
    std::vector<Node> nodes;
    std::map<std::string, ValueInfo> values;
    std::map<std::string, Tensor> initializers;
    // Run-time inputs (initializers are not listed here). A subgraph lists the
    // enclosing graphs' values it reads here; its node (If) takes them as extra
    // inputs after its own, as ONNX Runtime's implicit inputs, so ordering,
    // lifetimes and dead-node elimination see them.
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;

    // Node indices in an order where every node follows the producers of its
    // inputs. InputError naming a node on a cycle, a value with two producers,
    // or an input nothing produces (no graph input, initializer or node).
    std::vector<size_t> topological_order() const;
    // Parameters: elements of the floating-point initializers.
    int64_t parameter_count() const;
};


}  // namespace tern::graph
