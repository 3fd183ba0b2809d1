#include "core/tensor.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/block_cache.h"
#include "core/error.h"
#include "core/half.h"
#include "core/mapped_file.h"

namespace tern {

std::string shape_to_string(const Shape& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

int64_t shape_numel(const Shape& shape) {
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0) throw InputError("tensor", "negative dimension in shape " + shape_to_string(shape));
        if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
            throw InputError("tensor", "shape " + shape_to_string(shape) + " overflows 64 bits");
        n *= d;
    }
    return n;
}

Shape contiguous_strides(const Shape& shape) {
    Shape strides(shape.size());
    int64_t s = 1;
    for (size_t i = shape.size(); i-- > 0;) {
        strides[i] = s;
        // A zero dim keeps numel at 0 while the strides of the dims before it still grow.
        if (i > 0 && __builtin_mul_overflow(s, shape[i], &s))
            throw InputError("tensor", "strides of shape " + shape_to_string(shape) + " overflow 64 bits");
    }
    return strides;
}

void* aligned_alloc_bytes(size_t bytes, size_t alignment) {
    // Large buffers start on a 2 MiB boundary and ask for transparent huge
    // pages over their whole 2 MiB-aligned part: streaming a weight matrix then
    // takes one TLB miss per 2 MiB instead of one per 4 KiB page.
    // The size is not rounded up, so a 2.3 MiB matrix does not cost 4 MiB.
    constexpr size_t kHugePage = size_t{2} << 20;
    const size_t align = bytes >= kHugePage ? kHugePage : alignment;
    void* p = nullptr;
    if (::posix_memalign(&p, align, bytes == 0 ? align : bytes) != 0 || !p)
        throw Error("alloc", format("out of memory allocating %zu bytes", bytes));
    if (bytes >= kHugePage) ::madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
    return p;
}

void aligned_free_bytes(void* p) { std::free(p); }

std::shared_ptr<Storage> Storage::allocate(size_t bytes, bool zero) {
    std::shared_ptr<Storage> s(new Storage());
    void* cached = block_cache_take(bytes);
    s->data_ = static_cast<uint8_t*>(cached ? cached : aligned_alloc_bytes(bytes));
    s->bytes_ = bytes;
    s->owned_ = true;
    if (zero) std::memset(s->data_, 0, bytes);
    return s;
}

std::shared_ptr<Storage> Storage::view(std::shared_ptr<const MappedFile> file, size_t offset, size_t bytes) {
    if (offset > file->size() || bytes > file->size() - offset)
        throw InputError(file->path(), format("tensor data [%zu, +%zu) lies past the end of the file (%zu bytes)",
                                              offset, bytes, file->size()));
    std::shared_ptr<Storage> s(new Storage());
    s->data_ = const_cast<uint8_t*>(file->data() + offset);
    s->bytes_ = bytes;
    s->file_ = std::move(file);
    return s;
}

void Storage::release_file_pages() const {
    if (file_) file_->release(data_, bytes_);
}

Storage::~Storage() {
    if (owned_ && !block_cache_give(data_, bytes_)) aligned_free_bytes(data_);
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
    Tensor t;
    t.shape_ = shape;
    t.strides_ = contiguous_strides(shape);
    t.dtype_ = dtype;
    if (!shape.empty() && dtype_info(dtype).is_block_quantized && shape.back() % dtype_info(dtype).block_size != 0)
        throw InputError("tensor", format("last dimension %lld is not a multiple of the %s block size",
                                          static_cast<long long>(shape.back()), dtype_info(dtype).name.data()));
    t.storage_ = Storage::allocate(dtype_bytes_for(dtype, static_cast<uint64_t>(shape_numel(shape))), false);
    return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
    Tensor t = empty(shape, dtype);
    std::memset(t.storage_->data(), 0, t.storage_->bytes());
    return t;
}

Tensor Tensor::from_floats(const Shape& shape, std::span<const float> values) {
    if (static_cast<int64_t>(values.size()) != shape_numel(shape))
        throw InputError("tensor", format("%zu values do not fill shape %s", values.size(),
                                          shape_to_string(shape).c_str()));
    Tensor t = empty(shape, DType::f32);
    std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(float));
    return t;
}

Tensor Tensor::view_of_file(std::shared_ptr<const MappedFile> file, size_t offset, const Shape& shape, DType dtype) {
    Tensor t;
    t.shape_ = shape;
    t.strides_ = contiguous_strides(shape);
    t.dtype_ = dtype;
    t.storage_ = Storage::view(std::move(file), offset, dtype_bytes_for(dtype, static_cast<uint64_t>(shape_numel(shape))));
    return t;
}

int64_t Tensor::dim(int i) const {
    const int r = rank();
    if (i < 0) i += r;
    if (i < 0 || i >= r) throw Error("tensor", format("dim %d out of range for rank %d", i, r));
    return shape_[static_cast<size_t>(i)];
}

size_t Tensor::nbytes() const { return dtype_bytes_for(dtype_, static_cast<uint64_t>(numel())); }

bool Tensor::is_contiguous() const { return strides_ == contiguous_strides(shape_); }

uint8_t* Tensor::raw_data() {
    if (!storage_) return nullptr;
    if (storage_->read_only()) throw Error("tensor", "write access to a read-only (file-mapped) tensor");
    return storage_->data() + offset_;
}

const uint8_t* Tensor::raw_data() const { return storage_ ? storage_->data() + offset_ : nullptr; }

Tensor Tensor::reshape(const Shape& shape) const {
    if (!is_contiguous()) throw Error("tensor", "reshape of a non-contiguous tensor");
    if (shape_numel(shape) != numel())
        throw Error("tensor", "cannot reshape " + shape_to_string(shape_) + " to " + shape_to_string(shape));
    Tensor t = *this;
    t.shape_ = shape;
    t.strides_ = contiguous_strides(shape);
    return t;
}

Tensor Tensor::transpose(int i, int j) const {
    if (dtype_info(dtype_).is_block_quantized) throw Error("tensor", "transpose of a block-quantized tensor");
    const int r = rank();
    if (i < 0) i += r;
    if (j < 0) j += r;
    if (i < 0 || j < 0 || i >= r || j >= r) throw Error("tensor", "transpose dims out of range");
    Tensor t = *this;
    std::swap(t.shape_[static_cast<size_t>(i)], t.shape_[static_cast<size_t>(j)]);
    std::swap(t.strides_[static_cast<size_t>(i)], t.strides_[static_cast<size_t>(j)]);
    return t;
}

Tensor Tensor::contiguous() const {
    if (is_contiguous()) return *this;
    return clone();
}

Tensor Tensor::clone() const {
    Tensor out = empty(shape_, dtype_);
    if (is_contiguous()) {
        std::memcpy(out.raw_data(), raw_data(), nbytes());
        return out;
    }
    const size_t es = dtype_info(dtype_).block_bytes;
    const int64_t n = numel();
    const uint8_t* src = raw_data();
    uint8_t* dst = out.raw_data();
    std::vector<int64_t> idx(shape_.size(), 0);
    for (int64_t k = 0; k < n; ++k) {
        int64_t off = 0;
        for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * strides_[d];
        std::memcpy(dst + static_cast<size_t>(k) * es, src + static_cast<size_t>(off) * es, es);
        for (size_t d = idx.size(); d-- > 0;) {
            if (++idx[d] < shape_[d]) break;
            idx[d] = 0;
        }
    }
    return out;
}

std::vector<float> Tensor::to_floats() const {
    const Tensor c = contiguous();
    const int64_t n = numel();
    std::vector<float> out(static_cast<size_t>(n));
    const uint8_t* p = c.raw_data();
    for (int64_t i = 0; i < n; ++i) {
        float v;
        switch (dtype_) {
            case DType::f32: std::memcpy(&v, p + 4 * i, 4); break;
            case DType::f64: { double d; std::memcpy(&d, p + 8 * i, 8); v = static_cast<float>(d); break; }
            case DType::f16: { uint16_t h; std::memcpy(&h, p + 2 * i, 2); v = fp16_to_fp32(h); break; }
            case DType::bf16: { uint16_t h; std::memcpy(&h, p + 2 * i, 2); v = bf16_to_fp32(h); break; }
            case DType::i8: v = static_cast<int8_t>(p[i]); break;
            case DType::u8: case DType::boolean: v = p[i]; break;
            case DType::i16: { int16_t x; std::memcpy(&x, p + 2 * i, 2); v = x; break; }
            case DType::i32: { int32_t x; std::memcpy(&x, p + 4 * i, 4); v = static_cast<float>(x); break; }
            case DType::i64: { int64_t x; std::memcpy(&x, p + 8 * i, 8); v = static_cast<float>(x); break; }
            default:
                throw Error("tensor", std::string("to_floats does not decode ") + std::string(dtype_name(dtype_)) +
                                          "; use formats/ dequantize");
        }
        out[static_cast<size_t>(i)] = v;
    }
    return out;
}

}  // namespace tern
