#include "cli/context_limits.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "core/table.h"

namespace tern::cli {

uint64_t context_bytes(const llm::ModelConfig& c, int64_t n_ctx, ops::KvType kv) {
    // In long double: a hostile config's dims must not wrap the product into a small number.
    const long double elt = kv == ops::KvType::f16 ? 2 : 4;
    const long double kv_bytes = (long double)c.n_layer * 2 * c.n_head_kv * c.head_dim * n_ctx * elt;
    const long double rope_bytes = (long double)n_ctx * c.rope_dim * 4;  // cos and sin, rope_dim/2 floats each
    const long double total = kv_bytes + rope_bytes;
    if (!(total > 0)) return 0;  // dims the loader would have refused; Session reports them
    return total >= 1.8e19L ? UINT64_MAX : static_cast<uint64_t>(total);
}

uint64_t usable_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    uint64_t bytes = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : UINT64_MAX;
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) bytes = std::min<uint64_t>(bytes, rl.rlim_cur);
    return bytes;
}

void check_context(const llm::Model& model, int64_t n_ctx, ops::KvType kv, const std::string& option,
                   bool warn_past_training) {
    const llm::ModelConfig& c = model.config;
    if (n_ctx <= 0) n_ctx = std::min(c.n_ctx_train, llm::kDefaultMaxCtx);
    const uint64_t need = context_bytes(c, n_ctx, kv), have = usable_memory_bytes();
    if (need > have)
        throw UsageError(option, format("a context of %lld tokens needs %llu bytes (%s) of KV cache, more than the "
                                        "%s this process can use; lower %s",
                                        (long long)n_ctx, (unsigned long long)need, fmt_bytes(double(need)).c_str(),
                                        fmt_bytes(double(have)).c_str(), option.c_str()));
    // GPT-2 has no positions past its trained length: llm::Session refuses those itself.
    if (warn_past_training && c.n_ctx_train > 0 && n_ctx > c.n_ctx_train && c.arch != llm::Arch::gpt2)
        std::fprintf(stderr, "tern: warning: %s %lld is longer than the %lld tokens %s was trained on; output past "
                             "them may degrade\n",
                     option.c_str(), (long long)n_ctx, (long long)c.n_ctx_train, model.path.c_str());
}

}  // namespace tern::cli
