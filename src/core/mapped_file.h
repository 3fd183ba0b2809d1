#pragma once
// A read-only memory map of a whole file. Tensors loaded from GGUF or
// safetensors are views into it, so loading a model copies nothing.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/atomic_file_writer.h"  // the writing side; its callers include this header

namespace tern {

class MappedFile {
public:
    // Throws IoError naming the path when it cannot be opened or mapped.
    static std::shared_ptr<MappedFile> open(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }
    // Drops the whole pages of [p, p + n) from this process's resident set
    // (madvise DONTNEED). The mapping stays valid: a later read faults the page
    // back in from the page cache. For data that was copied into another
    // layout, so a loaded model is not counted twice.
    void release(const uint8_t* p, size_t n) const;

private:
    MappedFile() = default;
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace tern
