#include "nn/modules/sequential.h"

namespace tern::nn {

Sequential& Sequential::add(std::shared_ptr<UnaryModule> m) {
    register_module(std::to_string(layers_.size()), m);
    layers_.push_back(std::move(m));
    return *this;
}

Var Sequential::forward(const Var& x) {
    Var h = x;
    for (auto& m : layers_) h = m->forward(h);
    return h;
}

}  // namespace tern::nn
