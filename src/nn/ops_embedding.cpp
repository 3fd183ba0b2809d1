// Embedding lookup (gather) with scatter-add backward.
#include <cstring>

#include "core/error.h"
#include "nn/ops.h"

namespace tern::nn {

Var embedding(const Var& weight, const std::vector<int64_t>& ids, const Shape& ids_shape) {
    if (weight.rank() != 2) throw Error("embedding", "weight must be (V, D), got " + shape_to_string(weight.shape()));
    if (shape_numel(ids_shape) != static_cast<int64_t>(ids.size()))
        throw Error("embedding", format("%zu ids for shape %s", ids.size(), shape_to_string(ids_shape).c_str()));
    const int64_t V = weight.dim(0), D = weight.dim(1);
    Shape out_shape = ids_shape;
    out_shape.push_back(D);
    Tensor y = Tensor::empty(out_shape);  // (ids..., D)
    for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] >= V)
            throw Error("embedding", format("id %lld outside vocabulary of %lld", static_cast<long long>(ids[i]),
                                            static_cast<long long>(V)));
        std::memcpy(y.data<float>() + i * D, weight.data() + ids[i] * D, sizeof(float) * D);
    }
    return make_result(y, {weight}, [weight, ids, D](const Tensor& gy) {
        float* gw = grad_ptr(weight);
        const float* g = gy.data<float>();
        // Serial scatter-add: repeated ids accumulate in a fixed order.
        for (size_t i = 0; i < ids.size(); ++i) {
            float* row = gw + ids[i] * D;
            for (int64_t j = 0; j < D; ++j) row[j] += g[i * D + j];
        }
    });
}

}  // namespace tern::nn
