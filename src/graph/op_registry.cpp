#include "graph/op_registry.h"

#include <algorithm>
#include <map>

namespace tern::graph {

namespace {

const std::map<std::string, OpRun>& table() {
    static const std::map<std::string, OpRun> t = [] {
        std::map<std::string, OpRun> m;
        for (auto family : {elementwise_ops, activation_ops, linear_ops, conv_ops, pool_ops, norm_ops, shape_ops,
                            cast_ops, slice_ops, math_ops, reduce_ops, resize_ops, conv_transpose_ops, rnn_ops, quant_ops, pad_ops, fused_ops, logic_ops, control_ops}) {
            for (const OpEntry& e : family()) m.emplace(e.op_type, e.run);
        }
        return m;
    }();
    return t;
}

}  // namespace

const Tensor& OpContext::input(size_t i) const {
    if (!has_input(i)) throw node.error(node.op_type + " needs input " + std::to_string(i));
    return *in[i];
}

OpRun find_op(const std::string& op_type) {
    auto it = table().find(op_type);
    return it == table().end() ? nullptr : it->second;
}

std::vector<std::string> supported_ops() {
    std::vector<std::string> names;
    for (const auto& [name, fn] : table()) names.push_back(name);
    return names;
}

}  // namespace tern::graph
