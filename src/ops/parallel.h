#pragma once
// Work-aware parallel loop for operators: a pool hand-off costs microseconds
// (far more on a loaded machine), so tiny ops stay on the calling thread.
#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"

namespace tern::ops {

// Rough floating-point operations a chunk should hold before it is worth a thread.
inline constexpr int64_t kMinParallelWork = int64_t{1} << 16;

// fn(begin, end) over [0, n) items of about `cost_per_item` operations each.
template <class F>
void parallel_items(int64_t n, int64_t cost_per_item, F&& fn) {
    const int64_t grain = std::max<int64_t>(1, kMinParallelWork / std::max<int64_t>(cost_per_item, 1));
    parallel_for(n, grain, std::forward<F>(fn));
}

}  // namespace tern::ops
