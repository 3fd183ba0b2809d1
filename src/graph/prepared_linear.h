#pragma once
// Prepared steps for Gemm and MatMul: the reference ops' forward
// (graph/linear_plan.h) on arena buffers, with dims planned once.
#include <optional>
#include <vector>

#include "graph/prepared_step.h"

namespace tern::graph {

std::optional<PreparedStep> prepare_gemm(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                         const std::vector<ValueSlot>& slots);
std::optional<PreparedStep> prepare_matmul(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                           const std::vector<ValueSlot>& slots);

}  // namespace tern::graph
