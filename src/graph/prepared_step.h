#pragma once
// One node of a PreparedExecutor bound to a prepared kernel (ops::Conv2d,
// ops::Pool, vector loops), reading and writing raw buffers (arena slots,
// graph inputs, initializers) that the executor resolves per run.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tern::graph {

// A value as the plan sees it: its shape at the planned input shapes, and where it lives.
struct ValueSlot {
    std::string name;
    Shape shape;
    DType dtype = DType::f32;
    int64_t bytes = 0;
    enum class Home { input, initializer, arena } home = Home::arena;
    const Tensor* init = nullptr;  // Home::initializer
    int buffer = -1;               // Home::arena: index into the memory plan's buffers
};

struct RunFrame {
    std::vector<const uint8_t*> read;  // per value id
    std::vector<uint8_t*> write;       // per value id, arena values only
    std::vector<float> scratch;        // Conv scratch, grown once and kept between runs

    const float* in(int v) const { return reinterpret_cast<const float*>(read[v]); }
    float* out(int v) const { return reinterpret_cast<float*>(write[v]); }
};

struct PreparedStep {
    std::function<void(RunFrame&)> run;
    // Elementwise: the output may share the buffer of input in_place_inputs[k] when that input dies here.
    std::vector<int> in_place_inputs;
    // A view (Reshape, Flatten, Squeeze, Unsqueeze, Identity): output 0 is input 0's bytes, no work.
    bool alias = false;
    int64_t macs = 0;
};

// The prepared kernel for node `n` (value ids `in` / `out`, -1 for an omitted
// optional one); nullopt when tern runs it through the reference op instead.
std::optional<PreparedStep> prepare_step(const Graph& g, const Node& n, const std::vector<int>& in,
                                         const std::vector<int>& out, const std::vector<ValueSlot>& slots);

}  // namespace tern::graph
