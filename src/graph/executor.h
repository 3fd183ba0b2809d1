#pragma once
// graph::Executor: runs a Graph node by node in topological order on the
// reference ops of op_registry.h. Values live until their last consumer has
// run. Inputs are checked against the graph's declared dtypes and shapes
// (unknown dims match anything).
#include <functional>
#include <map>
#include <string>

#include "graph/graph.h"

namespace tern::graph {

class Executor {
public:
    // Throws InputError for a cycle or an op tern does not run.
    explicit Executor(const Graph& g);

    // Sees every value a node produces, as it is produced (the prepared
    // executor learns each value's shape and dtype this way).
    using ValueObserver = std::function<void(const std::string& name, const Tensor& value)>;

    // inputs: one tensor per graph input, by name. Returns the graph outputs by name.
    std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs,
                                      const ValueObserver& observe = {}) const;

private:
    const Graph& g_;
    std::vector<size_t> order_;
};

}  // namespace tern::graph
