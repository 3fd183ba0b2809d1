#include "graph/graph.h"

#include <unordered_map>

#include "core/error.h"

namespace tern::graph {

const char* attribute_kind_name(Attribute::Kind k) {
    switch (k) {
        case Attribute::Kind::int_: return "int";
        case Attribute::Kind::float_: return "float";
        case Attribute::Kind::string: return "string";
        case Attribute::Kind::ints: return "ints";
        case Attribute::Kind::floats: return "floats";
        case Attribute::Kind::tensor: return "tensor";
        case Attribute::Kind::strings: return "strings";
        case Attribute::Kind::graph: return "graph";
    }
    return "?";
}

InputError Node::error(const std::string& what) const { return InputError("onnx", "node '" + name + "': " + what); }

namespace {

const Attribute* find_typed(const Node& n, const std::string& attr, Attribute::Kind want) {
    auto it = n.attributes.find(attr);
    if (it == n.attributes.end()) return nullptr;
    if (it->second.kind != want) {
        throw n.error("attribute '" + attr + "' is " + attribute_kind_name(it->second.kind) + ", " + n.op_type +
                      " needs " + attribute_kind_name(want));
    }
    return &it->second;
}

}  // namespace

int64_t Node::attr_int(const std::string& attr, int64_t fallback) const {
    const Attribute* a = find_typed(*this, attr, Attribute::Kind::int_);
    return a ? a->i : fallback;
}
float Node::attr_float(const std::string& attr, float fallback) const {
    const Attribute* a = find_typed(*this, attr, Attribute::Kind::float_);
    return a ? a->f : fallback;
}
std::string Node::attr_string(const std::string& attr, const std::string& fallback) const {
    const Attribute* a = find_typed(*this, attr, Attribute::Kind::string);
    return a ? a->s : fallback;
}
std::vector<int64_t> Node::attr_ints(const std::string& attr, const std::vector<int64_t>& fallback) const {
    const Attribute* a = find_typed(*this, attr, Attribute::Kind::ints);
    return a ? a->ints : fallback;
}
std::vector<float> Node::attr_floats(const std::string& attr, const std::vector<float>& fallback) const {
    const Attribute* a = find_typed(*this, attr, Attribute::Kind::floats);
    return a ? a->floats : fallback;
}
std::vector<std::string> Node::attr_strings(const std::string& attr, const std::vector<std::string>& fallback) const {
    const Attribute* a = find_typed(*this, attr, Attribute::Kind::strings);
    return a ? a->strings : fallback;
}
const Tensor& Node::attr_tensor(const std::string& attr) const {
    const Attribute* a = find_typed(*this, attr, Attribute::Kind::tensor);
    if (!a) throw error("attribute '" + attr + "' is missing");
    return a->t;
}
const Graph& Node::attr_graph(const std::string& attr) const {
    const Attribute* a = find_typed(*this, attr, Attribute::Kind::graph);
    if (!a || !a->graph) throw error("attribute '" + attr + "' is missing");
    return *a->graph;
}

std::vector<size_t> Graph::topological_order() const {
    // Kahn's algorithm over value producers; whatever is left over sits on a cycle.
    std::unordered_map<std::string, size_t> producer;
    for (size_t i = 0; i < nodes.size(); ++i) {
        for (const std::string& out : nodes[i].outputs) {
            if (out.empty()) continue;
            if (initializers.count(out) || !producer.emplace(out, i).second) {
                throw nodes[i].error("output '" + out + "' is already produced elsewhere");
            }
        }
    }
    std::unordered_map<std::string, bool> available;
    for (const std::string& in : inputs) available[in] = true;
    for (const auto& [name, t] : initializers) available[name] = true;

    std::vector<size_t> pending(nodes.size(), 0);
    std::vector<std::vector<size_t>> consumers(nodes.size());
    std::vector<size_t> ready;
    for (size_t i = 0; i < nodes.size(); ++i) {
        for (const std::string& in : nodes[i].inputs) {
            if (in.empty() || available.count(in)) continue;
            auto p = producer.find(in);
            if (p == producer.end()) throw nodes[i].error("input '" + in + "' is produced by nothing");
            consumers[p->second].push_back(i);
            ++pending[i];
        }
        if (pending[i] == 0) ready.push_back(i);
    }
    std::vector<size_t> order;
    order.reserve(nodes.size());
    for (size_t k = 0; k < ready.size(); ++k) {
        const size_t i = ready[k];
        order.push_back(i);
        for (size_t c : consumers[i]) {
            if (--pending[c] == 0) ready.push_back(c);
        }
    }
    if (order.size() != nodes.size()) {
        for (size_t i = 0; i < nodes.size(); ++i) {
            if (pending[i] != 0) throw nodes[i].error("is on a cycle of the graph");
        }
    }
    for (const std::string& out : outputs) {
        if (!available.count(out) && !producer.count(out)) {
            throw InputError("onnx", "graph output '" + out + "' is produced by nothing");
        }
    }
    return order;
}

int64_t Graph::parameter_count() const {
    int64_t n = 0;
    for (const auto& [name, t] : initializers) {
        if (dtype_info(t.dtype()).is_float) n += t.numel();
    }
    return n;
}

}  // namespace tern::graph
