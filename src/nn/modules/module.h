#pragma once
// Module: named parameters, buffers and children, with train/eval mode.
// Names are dotted paths in registration order ("blocks.0.attn.wq.weight"),
// stable across runs, so checkpoints can key tensors by them.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/autograd.h"

namespace tern::nn {

class Module {
public:
    virtual ~Module() = default;

    std::vector<std::pair<std::string, Var>> named_parameters() const;
    std::vector<Var> parameters() const;
    // Non-trainable state (batch-norm running statistics).
    std::vector<std::pair<std::string, Tensor>> named_buffers() const;
    int64_t parameter_count() const;

    void train(bool on = true);  // recursive
    void eval() { train(false); }
    bool is_training() const { return training_; }
    void zero_grad();
    // Direct children in registration order (walking a model: QAT, freezing batch norm).
    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

protected:
    // Registers a trainable leaf (requires_grad) and returns its handle.
    Var register_parameter(const std::string& name, Tensor value);
    // Registers a buffer; the tensor handle shares storage with the caller's.
    void register_buffer(const std::string& name, Tensor t);
    template <class M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
        children_.emplace_back(name, m);
        return m;
    }

private:
    void collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Var>>& out) const;
    void collect_buffers(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const;

    bool training_ = true;
    std::vector<std::pair<std::string, Var>> params_;
    std::vector<std::pair<std::string, Tensor>> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// A module with one input and one output (what Sequential chains).
class UnaryModule : public Module {
public:
    virtual Var forward(const Var& x) = 0;
    Var operator()(const Var& x) { return forward(x); }
};

// Child seeds derived from a parent seed, so composite modules stay
// reproducible without callers threading one seed per layer.
inline uint64_t child_seed(uint64_t seed, uint64_t index) {
    return seed * 0x9e3779b97f4a7c15ull + index * 0xda942042e4dd58b5ull + 1;
}

}  // namespace tern::nn
