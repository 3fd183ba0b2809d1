#pragma once
#include "nn/modules/module.h"

namespace tern::nn {

// Token table (V, D), init N(0, 1) as PyTorch.
class Embedding : public Module {
public:
    Embedding(int64_t vocab, int64_t dim, uint64_t seed);
    Var forward(const std::vector<int64_t>& ids, const Shape& ids_shape);
    Var weight;
};

}  // namespace tern::nn
