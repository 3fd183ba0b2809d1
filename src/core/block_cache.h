#pragma once
// A process-wide cache of freed large tensor buffers, reused by exact size.
// Training allocates the same activation and gradient shapes every step; a
// buffer returned to the C library comes back as fresh pages from the OS, each
// costing a page fault and a kernel zero-fill (13% of a MobileNetV2 training
// step before this cache). Thread-safe; bounded (kMaxCachedBytes in all,
// oldest buffers released first), so a workload that never repeats a size
// keeps at most that much idle memory.
#include <cstddef>

namespace tern {

// Buffers smaller than this go straight to the C library (its own bins are fast).
inline constexpr size_t kBlockCacheMinBytes = size_t{256} << 10;

// A cached buffer of exactly `bytes` (64-byte aligned, contents undefined), or
// null when none is free.
void* block_cache_take(size_t bytes);
// Offers a buffer from aligned_alloc_bytes(bytes) back; returns false when the
// cache declines it (too small, too big, or full) and the caller must free it.
bool block_cache_give(void* p, size_t bytes);
// Frees every cached buffer (tests; memory-hungry phases).
void block_cache_clear();

}  // namespace tern
