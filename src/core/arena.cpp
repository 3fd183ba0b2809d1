#include "core/arena.h"

#include <algorithm>

#include "core/error.h"
#include "core/tensor.h"

namespace tern {

Arena::Arena(size_t block_bytes) : block_bytes_(std::max<size_t>(block_bytes, 4096)) {}

Arena::~Arena() {
    for (auto& b : blocks_) aligned_free_bytes(b.data);
}

void* Arena::allocate(size_t bytes, size_t alignment) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        throw Error("arena", format("alignment %zu is not a power of two", alignment));
    if (!blocks_.empty()) {
        const auto& b = blocks_.back();
        const uintptr_t base = reinterpret_cast<uintptr_t>(b.data);
        const size_t aligned = ((base + offset_ + alignment - 1) & ~(alignment - 1)) - base;
        if (aligned + bytes <= b.size) {
            in_use_ += aligned - offset_ + bytes;
            offset_ = aligned + bytes;
            peak_ = std::max(peak_, in_use_);
            return b.data + aligned;
        }
    }
    const size_t size = std::max(block_bytes_, bytes + alignment);
    auto* data = static_cast<uint8_t*>(aligned_alloc_bytes(size, std::max<size_t>(alignment, 64)));
    blocks_.push_back({data, size});
    offset_ = bytes;
    in_use_ += bytes;
    peak_ = std::max(peak_, in_use_);
    return data;
}

void Arena::reset() {
    if (blocks_.size() > 1) {
        // Keep one block big enough for everything that was live, so the next
        // round of the same work needs no new allocation.
        size_t total = 0;
        for (auto& b : blocks_) {
            total += b.size;
            aligned_free_bytes(b.data);
        }
        blocks_.clear();
        block_bytes_ = std::max(block_bytes_, total);
    }
    offset_ = 0;
    in_use_ = 0;
}

}  // namespace tern
