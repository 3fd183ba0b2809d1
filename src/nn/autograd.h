#pragma once
// Reverse-mode autograd on fp32 tensors. A Var is a shared handle to a node
// holding a value, an optional gradient, and (for op results) the parents and a
// closure that pushes this node's gradient into theirs. backward() walks the
// nodes reachable from a scalar loss in reverse topological order.
//
// Leaf gradients accumulate across backward() calls until zero_grad(); the
// gradients of intermediate results are released once they are consumed.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tern::nn {

struct VarImpl;

// Receives the gradient of the node's output (same shape as its value).
using BackwardFn = std::function<void(const Tensor& grad_out)>;

class Var {
public:
    Var() = default;
    // A leaf holding `value` (converted to a contiguous f32 tensor).
    explicit Var(Tensor value, bool requires_grad = false);

    bool defined() const { return impl_ != nullptr; }
    const Tensor& value() const;
    Tensor& value();
    const Shape& shape() const { return value().shape(); }
    int64_t dim(int i) const { return value().dim(i); }
    int rank() const { return value().rank(); }
    int64_t numel() const { return value().numel(); }
    float* data() { return value().data<float>(); }
    const float* data() const { return value().data<float>(); }
    float item() const;  // the single element of a one-element value

    bool requires_grad() const;
    void set_requires_grad(bool on);
    bool is_leaf() const;
    bool has_grad() const;
    // The gradient (undefined Tensor until a backward pass reaches this node).
    const Tensor& grad() const;
    // The gradient buffer, allocated and zero-filled on first use.
    Tensor& grad_buffer();
    void zero_grad();

    // Backpropagates from this one-element value (seed gradient 1).
    void backward();
    // Backpropagates with an explicit seed gradient of this value's shape.
    void backward(const Tensor& seed);

    // Same value, no history, no gradient requirement.
    Var detach() const;

    VarImpl* impl() const { return impl_.get(); }
    const std::shared_ptr<VarImpl>& shared() const { return impl_; }
    bool same_node(const Var& o) const { return impl_ == o.impl_; }

private:
    std::shared_ptr<VarImpl> impl_;
};

struct VarImpl {
    Tensor value;                 // contiguous f32
    Tensor grad;                  // same shape as value, or undefined
    bool requires_grad = false;
    std::vector<Var> parents;     // inputs this node's backward writes into
    BackwardFn backward_fn;       // empty for leaves
};

// Whether ops record history (thread-local; on by default).
bool grad_enabled();
// Turns history recording off for its lifetime (evaluation, optimizer steps).
class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

// --- helpers for op implementations ---------------------------------------

// True when grad mode is on and any of `inputs` requires a gradient.
bool any_requires_grad(std::initializer_list<const Var*> inputs);
bool any_requires_grad(const std::vector<Var>& inputs);
// The op result: a plain value when no input needs a gradient, otherwise a
// node with `parents` and `fn`. `fn` must not capture the result itself.
Var make_result(Tensor value, std::vector<Var> parents, BackwardFn fn);
// Pointer to v's zero-initialised gradient buffer when v requires a gradient,
// else nullptr (the op skips that input's gradient).
float* grad_ptr(const Var& v);

// Where a backward closure puts v's gradient without a zero-fill: when v has
// no gradient buffer yet, one is allocated uninitialised and `fresh` is true;
// the op must then write every element (y = ...) instead of accumulating
// (y += ...). Saves a memset and a read of the buffer per op on the usual
// path, where each intermediate feeds exactly one consumer.
struct GradSink {
    float* data = nullptr;  // null: v needs no gradient
    bool fresh = false;
    explicit operator bool() const { return data != nullptr; }
};
GradSink grad_sink(const Var& v);

// Hands `g` (v's shape, contiguous) to v as its gradient: adopted without a
// copy when v has none yet, else added. `g` must be storage nobody else will
// read or write afterwards (the gradient the calling closure is consuming).
void give_grad(const Var& v, const Tensor& g);

}  // namespace tern::nn
