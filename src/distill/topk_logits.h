#pragma once
// A teacher's top-k logits per position, computed once and read back by
// distillation runs that do not keep the teacher in memory (what trl users ask
// for in #2255 / #3055). Stored as safetensors: "indices" I32 (positions, k)
// token ids, "values" F32 (positions, k) logits, metadata tern.format
// "teacher-topk-v1" and tern.vocab_size. Reading checks everything a loss
// relies on; a bad file is one InputError naming it.
#include <cstdint>
#include <string>
#include <vector>

namespace tern::distill {

struct TopkLogits {
    int64_t positions = 0, k = 0, vocab_size = 0;
    std::vector<int32_t> indices;  // positions * k, each in [0, vocab_size)
    std::vector<float> values;     // positions * k, finite
};

// The k largest of each row of (rows, vocab) logits, largest first.
TopkLogits topk_of_logits(const float* logits, int64_t rows, int64_t vocab, int64_t k);

void write_topk_logits(const std::string& path, const TopkLogits& t);
TopkLogits read_topk_logits(const std::string& path);

}  // namespace tern::distill
