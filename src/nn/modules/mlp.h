#pragma once
#include <memory>

#include "nn/modules/linear.h"

namespace tern::nn {

enum class MlpKind {
    swiglu,  // down(silu(gate(x)) * up(x))   (llama)
    gelu,    // fc2(gelu_tanh(fc1(x)))        (GPT-2)
};

class MLP : public UnaryModule {
public:
    MLP(int64_t dim, int64_t hidden, MlpKind kind, bool bias, uint64_t seed);
    Var forward(const Var& x) override;
    MlpKind kind;
    std::shared_ptr<Linear> gate, up, down;  // gelu: up = fc1, down = fc2, no gate
};

}  // namespace tern::nn
