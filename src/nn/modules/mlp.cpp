#include "nn/modules/mlp.h"

#include "nn/ops.h"

namespace tern::nn {

MLP::MLP(int64_t dim, int64_t hidden, MlpKind k, bool bias, uint64_t seed) : kind(k) {
    if (kind == MlpKind::swiglu)
        gate = register_module("gate", std::make_shared<Linear>(dim, hidden, bias, child_seed(seed, 0)));
    up = register_module("up", std::make_shared<Linear>(dim, hidden, bias, child_seed(seed, 1)));
    down = register_module("down", std::make_shared<Linear>(hidden, dim, bias, child_seed(seed, 2)));
}

Var MLP::forward(const Var& x) {
    if (kind == MlpKind::swiglu) return down->forward(mul(silu(gate->forward(x)), up->forward(x)));
    return down->forward(gelu_tanh(up->forward(x)));
}

}  // namespace tern::nn
