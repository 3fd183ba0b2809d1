#pragma once
// The ops the executor runs, one function per ONNX op_type. Each ops_*.cpp
// file registers its family; find_op() is what the importer asks to refuse an
// unknown op up front and what the executor dispatches through.
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tern::graph {

// One node's call: inputs (null where an optional input is omitted) in, outputs out.
struct OpContext {
    const Node& node;
    int64_t opset;
    std::vector<const Tensor*> in;
    std::vector<Tensor> out;  // one per node output, filled by the op

    size_t input_count() const { return in.size(); }
    bool has_input(size_t i) const { return i < in.size() && in[i] != nullptr; }
    // Throws node.error("... needs input i") when absent.
    const Tensor& input(size_t i) const;
};

using OpRun = void (*)(OpContext&);

struct OpEntry {
    const char* op_type;
    OpRun run;
};

// nullptr when tern does not run `op_type`.
OpRun find_op(const std::string& op_type);
std::vector<std::string> supported_ops();  // sorted

// Each family's table (ops_*.cpp).
std::vector<OpEntry> elementwise_ops();
std::vector<OpEntry> activation_ops();
std::vector<OpEntry> linear_ops();
std::vector<OpEntry> conv_ops();
std::vector<OpEntry> pool_ops();
std::vector<OpEntry> norm_ops();
std::vector<OpEntry> shape_ops();
std::vector<OpEntry> rnn_ops();
std::vector<OpEntry> quant_ops();
std::vector<OpEntry> cast_ops();
std::vector<OpEntry> slice_ops();
std::vector<OpEntry> math_ops();
std::vector<OpEntry> reduce_ops();
std::vector<OpEntry> resize_ops();
std::vector<OpEntry> conv_transpose_ops();
std::vector<OpEntry> pad_ops();
std::vector<OpEntry> fused_ops();  // FusedConv, written by the passes
std::vector<OpEntry> logic_ops();  // comparisons, And/Or/Xor/Not
std::vector<OpEntry> control_ops();  // If

}  // namespace tern::graph
