#include "graph/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace tern::graph {

namespace {

int64_t align_up(int64_t v) { return (v + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

}  // namespace

MemoryPlan plan_memory(const std::vector<BufferLife>& buffers) {
    MemoryPlan plan;
    plan.offsets.assign(buffers.size(), -1);
    std::vector<size_t> by_size(buffers.size());
    std::iota(by_size.begin(), by_size.end(), size_t{0});
    // Largest first; ties by earlier start, so the plan does not depend on sort internals.
    std::stable_sort(by_size.begin(), by_size.end(), [&](size_t a, size_t b) {
        if (buffers[a].bytes != buffers[b].bytes) return buffers[a].bytes > buffers[b].bytes;
        return buffers[a].first < buffers[b].first;
    });
    std::vector<size_t> placed;
    for (size_t i : by_size) {
        const BufferLife& b = buffers[i];
        plan.naive_bytes += b.bytes;
        const int64_t need = align_up(b.bytes);
        // Address ranges of placed buffers alive at the same time, by offset.
        std::vector<std::pair<int64_t, int64_t>> busy;
        for (size_t j : placed) {
            const BufferLife& o = buffers[j];
            if (o.first <= b.last && b.first <= o.last) busy.push_back({plan.offsets[j], plan.offsets[j] + align_up(o.bytes)});
        }
        std::sort(busy.begin(), busy.end());
        int64_t best = -1, best_gap = 0, cursor = 0;
        for (const auto& [lo, hi] : busy) {
            const int64_t gap = lo - cursor;
            if (gap >= need && (best < 0 || gap < best_gap)) best = cursor, best_gap = gap;
            cursor = std::max(cursor, hi);
        }
        if (best < 0) best = cursor;  // past every live buffer
        plan.offsets[i] = best;
        plan.arena_bytes = std::max(plan.arena_bytes, best + need);
        placed.push_back(i);
    }
    return plan;
}

}  // namespace tern::graph
