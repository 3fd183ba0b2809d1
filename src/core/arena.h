#pragma once
// Bump allocator for scratch buffers whose lifetimes are planned (executor
// activations, kernel workspaces). reset() frees everything at once.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tern {

class Arena {
public:
    explicit Arena(size_t block_bytes = size_t{1} << 20);
    ~Arena();
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;

    // Returns `bytes` of uninitialised memory aligned to `alignment` (power of 2).
    void* allocate(size_t bytes, size_t alignment = 64);
    template <class T>
    T* allocate_array(size_t n) {
        return static_cast<T*>(allocate(n * sizeof(T), alignof(T) < 64 ? 64 : alignof(T)));
    }
    // Forgets all allocations; keeps the largest block for reuse.
    void reset();
    size_t bytes_in_use() const { return in_use_; }
    size_t peak_bytes() const { return peak_; }

private:
    struct Block {
        uint8_t* data;
        size_t size;
    };
    std::vector<Block> blocks_;
    size_t block_bytes_;
    size_t offset_ = 0;  // into blocks_.back()
    size_t in_use_ = 0;
    size_t peak_ = 0;
};

}  // namespace tern
