#pragma once
// Tensor: shape, strides (in elements), dtype, and shared storage that is
// either owned (64-byte aligned, huge pages for big buffers) or a read-only
// view into a memory-mapped file. Block-quantized dtypes are stored as whole
// blocks along the last dimension and are always contiguous.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace tern {

class MappedFile;

using Shape = std::vector<int64_t>;

std::string shape_to_string(const Shape& shape);
int64_t shape_numel(const Shape& shape);  // throws on negative or overflowing dims

// Aligned heap memory; large allocations ask the kernel for transparent huge
// pages (measurably faster streaming on this class of machine).
void* aligned_alloc_bytes(size_t bytes, size_t alignment = 64);
void aligned_free_bytes(void* p);

class Storage {
public:
    static std::shared_ptr<Storage> allocate(size_t bytes, bool zero = true);
    static std::shared_ptr<Storage> view(std::shared_ptr<const MappedFile> file, size_t offset, size_t bytes);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    uint8_t* data() { return data_; }
    const uint8_t* data() const { return data_; }
    size_t bytes() const { return bytes_; }
    bool read_only() const { return file_ != nullptr; }
    // File views: drop the mapped pages from the resident set (MappedFile::release).
    void release_file_pages() const;

private:
    Storage() = default;
    uint8_t* data_ = nullptr;
    size_t bytes_ = 0;
    bool owned_ = false;
    std::shared_ptr<const MappedFile> file_;
};

class Tensor {
public:
    Tensor() = default;
    // New contiguous tensor, zero-filled.
    static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
    static Tensor empty(const Shape& shape, DType dtype = DType::f32);
    static Tensor from_floats(const Shape& shape, std::span<const float> values);
    // A read-only view of `bytes` at `offset` in a mapped file.
    static Tensor view_of_file(std::shared_ptr<const MappedFile> file, size_t offset, const Shape& shape,
                               DType dtype);

    bool defined() const { return storage_ != nullptr; }
    const Shape& shape() const { return shape_; }
    const Shape& strides() const { return strides_; }
    int64_t dim(int i) const;  // negative i counts from the end
    int rank() const { return static_cast<int>(shape_.size()); }
    DType dtype() const { return dtype_; }
    int64_t numel() const { return shape_numel(shape_); }
    size_t nbytes() const;  // bytes of the elements this tensor spans (contiguous)
    bool is_contiguous() const;
    bool read_only() const { return storage_ && storage_->read_only(); }
    // A view of a mapped file whose data has been copied elsewhere (packed
    // weights): drop its pages from the resident set; reads still work.
    void release_file_pages() const {
        if (storage_) storage_->release_file_pages();
    }

    template <class T>
    T* data() {
        return reinterpret_cast<T*>(raw_data());
    }
    template <class T>
    const T* data() const {
        return reinterpret_cast<const T*>(raw_data());
    }
    uint8_t* raw_data();  // throws if read-only
    const uint8_t* raw_data() const;

    // Same storage, new shape (contiguous tensors only; numel must match).
    Tensor reshape(const Shape& shape) const;
    // Same storage, dims i and j swapped (plain dtypes only).
    Tensor transpose(int i, int j) const;
    // A contiguous copy (or this tensor when already contiguous).
    Tensor contiguous() const;
    // Deep copy into new owned storage.
    Tensor clone() const;
    // f32 copy of a plain float/int tensor (block formats: see formats/).
    std::vector<float> to_floats() const;

private:
    std::shared_ptr<Storage> storage_;
    size_t offset_ = 0;  // bytes into storage
    Shape shape_;
    Shape strides_;
    DType dtype_ = DType::f32;
};

Shape contiguous_strides(const Shape& shape);

}  // namespace tern
