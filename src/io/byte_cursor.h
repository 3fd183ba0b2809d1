#pragma once
// A bounds-checked little-endian reader over an in-memory byte range. Every
// read checks the remaining length first, so a hostile count or length turns
// into an InputError naming the file instead of an out-of-range access.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"

namespace tern::io {

class ByteCursor {
public:
    ByteCursor(std::span<const uint8_t> bytes, std::string where) : bytes_(bytes), where_(std::move(where)) {}

    size_t position() const { return pos_; }
    size_t remaining() const { return bytes_.size() - pos_; }
    size_t size() const { return bytes_.size(); }
    const std::string& where() const { return where_; }

    // `what` says which field was being read, for the error message.
    void need(uint64_t n, const char* what) const {
        if (n > remaining())
            throw InputError(where_, format("truncated: %s needs %llu bytes at offset %zu but only %zu remain", what,
                                            static_cast<unsigned long long>(n), pos_, remaining()));
    }

    template <class T>
    T read(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, bytes_.data() + pos_, sizeof(T));  // files are little-endian, as is x86-64
        pos_ += sizeof(T);
        return v;
    }

    std::string_view read_bytes(uint64_t n, const char* what) {
        need(n, what);
        std::string_view v(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(n));
        pos_ += static_cast<size_t>(n);
        return v;
    }

    void skip(uint64_t n, const char* what) { read_bytes(n, what); }

private:
    std::span<const uint8_t> bytes_;
    std::string where_;
    size_t pos_ = 0;
};

// a + b, or nullopt-like failure signalled by returning false (overflow-safe size arithmetic).
inline bool checked_add(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_add_overflow(a, b, out); }
inline bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }

}  // namespace tern::io
