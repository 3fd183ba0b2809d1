#pragma once
// Arena offsets for a graph's activations: each buffer lives over a range of
// execution steps [first, last]; two buffers whose ranges meet never share
// bytes. Placement is greedy by size with best fit (TFLite's
// "greedy by size" planner): the largest buffers are placed first, each in
// the smallest gap between buffers already placed whose lifetimes overlap it.
// The plan reports exact bytes, so the microcontroller work can size its arena from it.
#include <cstdint>
#include <vector>

namespace tern::graph {

inline constexpr int64_t kArenaAlignment = 64;

struct BufferLife {
    int64_t bytes = 0;
    int64_t first = 0, last = 0;  // steps that write first and read last, inclusive
};

struct MemoryPlan {
    std::vector<int64_t> offsets;  // per buffer, multiples of kArenaAlignment
    int64_t arena_bytes = 0;       // the peak: end of the highest buffer
    int64_t naive_bytes = 0;       // sum of every buffer's bytes (allocate each, free none)
};

MemoryPlan plan_memory(const std::vector<BufferLife>& buffers);

}  // namespace tern::graph
