#pragma once
// The context length a command asks for, checked against the model before its
// KV cache is allocated, so a typo such as --ctx 1e9 is a usage error naming
// the bytes it would take rather than an out-of-memory failure.
#include <cstdint>
#include <string>

#include "llm/forward.h"
#include "llm/model_loader.h"

namespace tern::cli {

// Bytes of the KV cache and RoPE tables a session of n_ctx tokens allocates.
uint64_t context_bytes(const llm::ModelConfig& c, int64_t n_ctx, ops::KvType kv);

// Memory this process may use: physical memory, or less under a ulimit -v.
uint64_t usable_memory_bytes();

// More than usable_memory_bytes(): UsageError naming `option` and the bytes.
// Past the model's trained length: a warning on stderr when `warn_past_training`
// (the run goes on; a default the user did not choose, or a speed test, stays quiet).
// n_ctx 0 means the session's default (the model's, at most kDefaultMaxCtx).
void check_context(const llm::Model& model, int64_t n_ctx, ops::KvType kv, const std::string& option = "--ctx",
                   bool warn_past_training = true);

}  // namespace tern::cli
