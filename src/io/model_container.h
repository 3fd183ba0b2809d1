#pragma once
// Which container a model file is, told by its first bytes rather than its
// name, so an empty or foreign file is reported as exactly that (and not as,
// say, a safetensors checkpoint missing its config.json).
#include <cstdint>
#include <span>
#include <string>

#include "core/error.h"

namespace tern::io {

enum class ModelContainer { gguf, safetensors, safetensors_index };

// `bytes` is the whole file; `where` names it in errors. InputError "[where] is
// empty" or "[where] not a GGUF or safetensors file (starts with 7f 45 4c 46 …)".
ModelContainer detect_model_container(std::span<const uint8_t> bytes, const std::string& where);

// Runs `read` and makes any InputError it throws name the model file `path`:
// tensor-level code says "[token_embd.weight] ..." or "[tensor] ...", which
// does not tell a user which file is wrong. Errors already naming a file on
// disk (the model, a shard, its config.json) pass unchanged.
template <class Read>
auto naming_model_file(const std::string& path, Read&& read) -> decltype(read());

// The first bytes of a file as an error message shows them: quoted text when
// they are printable, else hex.
std::string describe_leading_bytes(std::span<const uint8_t> bytes);

void rethrow_naming_model_file(const InputError& e, const std::string& path);

template <class Read>
auto naming_model_file(const std::string& path, Read&& read) -> decltype(read()) {
    try {
        return read();
    } catch (const InputError& e) {
        rethrow_naming_model_file(e, path);
        throw;  // not reached: the call above always throws
    }
}

}  // namespace tern::io
