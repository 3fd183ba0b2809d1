#pragma once
#include <memory>
#include <vector>

#include "nn/modules/module.h"

namespace tern::nn {

// Chains unary modules; children are named "0", "1", ... in order.
class Sequential : public UnaryModule {
public:
    Sequential() = default;
    Sequential& add(std::shared_ptr<UnaryModule> m);
    Var forward(const Var& x) override;
    size_t size() const { return layers_.size(); }
    UnaryModule& operator[](size_t i) { return *layers_[i]; }

private:
    std::vector<std::shared_ptr<UnaryModule>> layers_;
};

}  // namespace tern::nn
