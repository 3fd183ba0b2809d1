#include "nn/modules/embedding.h"

#include "nn/init.h"
#include "nn/ops.h"

namespace tern::nn {

Embedding::Embedding(int64_t vocab, int64_t dim, uint64_t seed) {
    Rng rng(seed);
    Tensor w = Tensor::empty({vocab, dim});
    init::normal(w, 0.0f, 1.0f, rng);
    weight = register_parameter("weight", w);
}

Var Embedding::forward(const std::vector<int64_t>& ids, const Shape& ids_shape) {
    return embedding(weight, ids, ids_shape);
}

}  // namespace tern::nn
