#pragma once
// graph::PreparedExecutor: a Graph planned once for fixed input shapes.
// Every node is bound to a prepared kernel (prepared_step.h: Conv / FusedConv
// on ops::Conv2d, MaxPool on ops::Pool, BatchNorm as a per-channel scale and
// shift, elementwise loops threaded over the pool, views for Reshape-like
// ops) or else to its reference op. All activations live in one arena laid
// out by memory_plan.h before the first run and reused by every run;
// elementwise ops write in place when their input dies there. Outputs equal
// the reference Executor's bit for bit.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/memory_plan.h"
#include "graph/prepared_step.h"

namespace tern::graph {

class PreparedExecutor {
public:
    // `g` must outlive the executor. input_shapes: one per graph input. The
    // plan learns every value's shape from one reference run on zeros.
    PreparedExecutor(const Graph& g, const std::map<std::string, Shape>& input_shapes);

    // Inputs must have the planned shapes (InputError otherwise). Not thread-safe: one arena.
    std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);

    int64_t peak_activation_bytes() const { return plan_.arena_bytes; }
    int64_t naive_activation_bytes() const { return plan_.naive_bytes; }
    int64_t macs() const { return macs_; }
    int prepared_nodes() const { return prepared_; }
    int reference_nodes() const { return static_cast<int>(steps_.size()) - prepared_; }

private:
    struct Step {
        const Node* node;
        std::vector<int> in, out;
        PreparedStep prepared;
        bool reference = false;
        bool copy = false;  // a view of a graph input or initializer: copied into the arena
    };
    void run_reference(const Step& s);

    const Graph& g_;
    std::map<std::string, Shape> input_shapes_;
    std::vector<ValueSlot> slots_;
    std::map<std::string, int> ids_;
    std::vector<Step> steps_;
    MemoryPlan plan_;
    std::vector<BufferLife> buffers_;
    int64_t macs_ = 0;
    int prepared_ = 0;
    std::shared_ptr<uint8_t> arena_;
    RunFrame frame_;
    std::vector<Tensor> held_inputs_;  // contiguous copies of this run's inputs
};

}  // namespace tern::graph
