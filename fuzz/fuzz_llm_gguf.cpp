// libFuzzer target: a GGUF language model end to end, as `tern generate` takes
// it: load_model (metadata -> ModelConfig -> checked, prepared weights), then a
// Session evaluates a two-token prompt and one decode step. Rejection must be
// a tern::Error; a crash, a sanitizer report, another exception or logits of
// the wrong size are findings. Seeds: tiny llama / qwen2 / gpt2 models.
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "fuzz_scratch_file.h"
#include "llm/forward.h"
#include "llm/model_loader.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    tern::set_default_threads(1);  // deterministic and cheap per input
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const tern::fuzz::ScratchFolder scratch;
    const std::string path = scratch.write("model.gguf", data, size);
    try {
        const auto model = tern::llm::load_model(path);
        tern::llm::SessionOptions so;
        so.n_ctx = 8;  // the model's own context may be huge; the cache is not what is fuzzed
        so.max_batch = 2;
        tern::llm::Session session(*model, so);
        const int32_t last = static_cast<int32_t>(model->config.n_vocab - 1);
        const std::vector<int32_t> prompt = {0, last};
        std::vector<float> logits;
        session.eval(prompt, logits);
        const int32_t next = last / 2;
        session.eval({&next, 1}, logits);
        if (logits.size() != static_cast<size_t>(model->config.n_vocab)) __builtin_trap();
    } catch (const tern::Error&) {
    }
    return 0;
}
