#pragma once
// A read-only memory map of a whole file. Tensors loaded from GGUF or
// safetensors are views into it, so loading a model copies nothing.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

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

// Writes `bytes` to `path` atomically: a temporary file in the same folder, then
// rename, so a failure never leaves a half-written file behind.
class AtomicFileWriter {
public:
    explicit AtomicFileWriter(std::string path);
    ~AtomicFileWriter();  // removes the temporary file unless commit() ran
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t n);
    void write_zeros(size_t n);
    uint64_t bytes_written() const { return written_; }
    void commit();

private:
    std::string path_;
    std::string tmp_path_;
    int fd_ = -1;
    uint64_t written_ = 0;
    bool committed_ = false;
};

}  // namespace tern
