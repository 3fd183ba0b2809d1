// If: runs the then- or else-branch subgraph on the values of the enclosing
// graph it reads (the node's implicit inputs, see Graph::inputs) and returns
// the branch's outputs. Each branch runs on the reference executor.
#include "graph/executor.h"
#include "graph/op_registry.h"

namespace tern::graph {

namespace {

void run_if(OpContext& c) {
    const Node& n = c.node;
    const Tensor& cond = c.input(0);
    if (cond.numel() != 1) throw n.error("cond holds " + std::to_string(cond.numel()) + " values; If needs one");
    if (cond.dtype() != DType::boolean) throw n.error("cond is " + std::string(dtype_name(cond.dtype())) + "; If needs bool");
    const bool take_then = cond.contiguous().data<uint8_t>()[0] != 0;
    const Graph& branch = n.attr_graph(take_then ? "then_branch" : "else_branch");
    std::map<std::string, Tensor> inputs;
    for (const std::string& name : branch.inputs) {
        for (size_t k = 1; k < n.inputs.size(); ++k) {
            if (n.inputs[k] == name && c.has_input(k)) inputs.emplace(name, *c.in[k]);
        }
        if (!inputs.count(name)) throw n.error("the branch reads '" + name + "', which the enclosing graph does not define");
    }
    if (branch.outputs.size() != n.outputs.size()) {
        throw n.error(std::string(take_then ? "then" : "else") + "_branch has " + std::to_string(branch.outputs.size()) +
                      " outputs; the node has " + std::to_string(n.outputs.size()));
    }
    auto outs = Executor(branch).run(inputs);
    for (size_t k = 0; k < n.outputs.size(); ++k) c.out[k] = outs.at(branch.outputs[k]);
}

}  // namespace

std::vector<OpEntry> control_ops() { return {{"If", run_if}}; }

}  // namespace tern::graph
