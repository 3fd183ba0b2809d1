#include "io/model_container.h"

#include <cctype>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "io/gguf_reader.h"
#include "io/safetensors.h"

namespace tern::io {

std::string describe_leading_bytes(std::span<const uint8_t> bytes) {
    const size_t n = std::min<size_t>(bytes.size(), 8);
    bool printable = n > 0;
    for (size_t i = 0; i < n; ++i) printable = printable && std::isprint(bytes[i]) && bytes[i] != '"';
    if (printable) return "\"" + std::string(reinterpret_cast<const char*>(bytes.data()), n) + "\"";
    std::string hex;
    for (size_t i = 0; i < n; ++i) hex += format(i ? " %02x" : "%02x", bytes[i]);
    return hex;
}

void rethrow_naming_model_file(const InputError& e, const std::string& path) {
    std::error_code ec;
    if (e.where() == path || std::filesystem::exists(e.where(), ec)) throw e;
    if (e.where() == "tensor") throw InputError(path, e.detail());
    throw InputError(path, "tensor '" + e.where() + "': " + e.detail());
}

ModelContainer detect_model_container(std::span<const uint8_t> bytes, const std::string& where) {
    if (bytes.empty()) throw InputError(where, "is empty (0 bytes), not a GGUF or safetensors file");
    if (looks_like_gguf(bytes)) return ModelContainer::gguf;
    if (looks_like_safetensors(bytes)) return ModelContainer::safetensors;
    size_t k = 0;
    while (k < bytes.size() && k < 64 && std::isspace(bytes[k])) ++k;
    if (k < bytes.size() && bytes[k] == '{') return ModelContainer::safetensors_index;
    if (bytes.size() > 8 && bytes[8] == '{') {
        // A safetensors length prefix that fails the checks deserves its own message.
        uint64_t n;
        std::memcpy(&n, bytes.data(), 8);
        throw InputError(where, format("safetensors header length %llu does not fit the %zu-byte file",
                                       static_cast<unsigned long long>(n), bytes.size()));
    }
    throw InputError(where, "not a GGUF or safetensors file (starts with " + describe_leading_bytes(bytes) + ")");
}

}  // namespace tern::io
