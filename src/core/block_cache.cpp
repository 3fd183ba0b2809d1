#include "core/block_cache.h"

#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>

#include "core/tensor.h"

namespace tern {

namespace {

constexpr size_t kMaxCachedBytes = size_t{512} << 20;
// Larger buffers (model weights) are rare and would crowd out the rest.
constexpr size_t kMaxBlockBytes = kMaxCachedBytes / 4;

struct Cache {
    std::mutex mu;
    // Oldest first; by_size indexes it for exact-size lookups.
    std::list<std::pair<size_t, void*>> order;
    std::unordered_multimap<size_t, std::list<std::pair<size_t, void*>>::iterator> by_size;
    size_t bytes = 0;

    void evict_oldest() {
        auto [size, p] = order.front();
        auto range = by_size.equal_range(size);
        for (auto it = range.first; it != range.second; ++it)
            if (it->second == order.begin()) {
                by_size.erase(it);
                break;
            }
        order.pop_front();
        bytes -= size;
        aligned_free_bytes(p);
    }
};

// Leaked on purpose: tensors freed during static destruction still find it.
Cache& cache() {
    static Cache* c = new Cache();
    return *c;
}

}  // namespace

void* block_cache_take(size_t bytes) {
    if (bytes < kBlockCacheMinBytes || bytes > kMaxBlockBytes) return nullptr;
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.by_size.find(bytes);
    if (it == c.by_size.end()) return nullptr;
    void* p = it->second->second;
    c.order.erase(it->second);
    c.by_size.erase(it);
    c.bytes -= bytes;
    return p;
}

bool block_cache_give(void* p, size_t bytes) {
    if (!p || bytes < kBlockCacheMinBytes || bytes > kMaxBlockBytes) return false;
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    while (c.bytes + bytes > kMaxCachedBytes && !c.order.empty()) c.evict_oldest();
    c.order.emplace_back(bytes, p);
    c.by_size.emplace(bytes, std::prev(c.order.end()));
    c.bytes += bytes;
    return true;
}

void block_cache_clear() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    while (!c.order.empty()) c.evict_oldest();
}

}  // namespace tern
