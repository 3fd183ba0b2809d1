#pragma once
// The planned side of `tern info MODEL.onnx` and `tern bench MODEL.onnx`:
// the input shapes a plan is made for (a batch dim unknown before run time
// is taken as 1), and the optimized graph's plan: peak activation bytes of
// the arena against allocating every tensor, MACs, prepared / reference nodes.
#include <map>
#include <optional>
#include <string>

#include "core/json_out.h"
#include "graph/graph.h"

namespace tern::graph {

// Declared input shapes with an unknown dim 0 set to 1; nullopt (and `why`)
// when another dim or a rank is unknown. `given` (by input name) replaces the
// declared shape (its known dims must agree; InputError naming the input otherwise).
std::optional<std::map<std::string, Shape>> planning_shapes(const Graph& g, std::string* why,
                                                            const std::map<std::string, Shape>& given = {});

// Deterministic inputs of those shapes (a smooth wave for floats, zeros otherwise).
std::map<std::string, Tensor> sample_inputs(const Graph& g, const std::map<std::string, Shape>& shapes);

inline constexpr int64_t kMaxPlannedInputBytes = int64_t{1} << 30;

// {"planned": true, "input_shapes": {...}, "peak_activation_bytes", "naive_activation_bytes", "macs",
//  "prepared_nodes", "reference_nodes", "optimized_nodes"} or {"planned": false, "why": ...}.
// `given` fixes input shapes as planning_shapes takes them (`tern info --shape`).
Json plan_summary_json(const Graph& g, const std::map<std::string, Shape>& given = {});

}  // namespace tern::graph
