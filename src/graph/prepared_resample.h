#pragma once
// Prepared steps for the ops of decoder and feature-pyramid heads (PP-OCR's
// detector, segmentation nets): ConvTranspose, Resize / Upsample and Concat
// read and write arena buffers directly, with the reference op's arithmetic
// (graph/conv_transpose_plan.h, graph/resize_plan.h), instead of being copied
// into tensors, run, and copied back.
#include <optional>
#include <vector>

#include "graph/prepared_step.h"

namespace tern::graph {

std::optional<PreparedStep> prepare_conv_transpose(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                                   const std::vector<ValueSlot>& slots);
std::optional<PreparedStep> prepare_resize(const Graph& g, const Node& n, const std::vector<int>& in,
                                           const std::vector<int>& out, const std::vector<ValueSlot>& slots);
std::optional<PreparedStep> prepare_concat(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                           const std::vector<ValueSlot>& slots);

}  // namespace tern::graph
