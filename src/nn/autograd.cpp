#include "nn/autograd.h"

#include <cstring>
#include <unordered_set>

#include "core/error.h"

namespace tern::nn {

namespace {
// Per-thread like PyTorch's grad mode, so an evaluation thread can run without
// history while another trains.
thread_local bool t_grad_enabled = true;

Tensor as_contiguous_f32(Tensor t) {
    if (!t.defined()) throw Error("nn", "Var needs a defined tensor");
    if (t.dtype() != DType::f32) {
        const std::vector<float> f = t.to_floats();
        return Tensor::from_floats(t.shape(), f);
    }
    return t.is_contiguous() ? t : t.contiguous();
}
}  // namespace

Var::Var(Tensor value, bool requires_grad) : impl_(std::make_shared<VarImpl>()) {
    impl_->value = as_contiguous_f32(std::move(value));
    impl_->requires_grad = requires_grad;
}

const Tensor& Var::value() const {
    if (!impl_) throw Error("nn", "use of an undefined Var");
    return impl_->value;
}
Tensor& Var::value() {
    if (!impl_) throw Error("nn", "use of an undefined Var");
    return impl_->value;
}

float Var::item() const {
    if (numel() != 1) throw Error("nn", "item() on a tensor of shape " + shape_to_string(shape()));
    return data()[0];
}

bool Var::requires_grad() const { return impl_ && impl_->requires_grad; }
void Var::set_requires_grad(bool on) {
    if (!is_leaf()) throw Error("nn", "requires_grad can only be set on leaves");
    impl_->requires_grad = on;
}
bool Var::is_leaf() const { return impl_ && !impl_->backward_fn; }
bool Var::has_grad() const { return impl_ && impl_->grad.defined(); }
const Tensor& Var::grad() const {
    if (!impl_) throw Error("nn", "use of an undefined Var");
    return impl_->grad;
}
Tensor& Var::grad_buffer() {
    if (!impl_->grad.defined()) impl_->grad = Tensor::zeros(impl_->value.shape());
    return impl_->grad;
}
void Var::zero_grad() {
    if (impl_ && impl_->grad.defined())
        std::memset(impl_->grad.data<float>(), 0, impl_->grad.numel() * sizeof(float));
}

Var Var::detach() const {
    Var v;
    v.impl_ = std::make_shared<VarImpl>();
    v.impl_->value = value();
    return v;
}

void Var::backward() {
    if (numel() != 1)
        throw Error("nn", "backward() without a seed needs a one-element loss, got " + shape_to_string(shape()));
    Tensor seed = Tensor::empty(shape());
    seed.data<float>()[0] = 1.0f;
    backward(seed);
}

void Var::backward(const Tensor& seed) {
    if (!requires_grad()) throw Error("nn", "backward() on a value that does not require grad");
    if (seed.shape() != shape())
        throw Error("nn", "backward seed shape " + shape_to_string(seed.shape()) + " != " + shape_to_string(shape()));
    // Iterative post-order DFS: deep graphs (long sequences of ops) must not
    // overflow the stack.
    std::vector<VarImpl*> order;
    std::unordered_set<VarImpl*> seen;
    std::vector<std::pair<VarImpl*, size_t>> stack{{impl_.get(), 0}};
    seen.insert(impl_.get());
    while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < node->parents.size()) {
            VarImpl* p = node->parents[next++].impl();
            if (p->requires_grad && !seen.count(p)) {
                seen.insert(p);
                stack.push_back({p, 0});
            }
        } else {
            order.push_back(node);
            stack.pop_back();
        }
    }
    // Intermediate gradients start from zero on every pass; leaves keep theirs.
    for (VarImpl* n : order)
        if (n->backward_fn) n->grad = Tensor();
    Tensor& g = grad_buffer();
    const float* s = seed.data<float>();
    float* gd = g.data<float>();
    for (int64_t i = 0; i < seed.numel(); ++i) gd[i] += s[i];
    for (size_t i = order.size(); i-- > 0;) {
        VarImpl* n = order[i];
        if (!n->backward_fn || !n->grad.defined()) continue;
        n->backward_fn(n->grad);
        n->grad = Tensor();  // consumed: free the memory early
    }
}

bool grad_enabled() { return t_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

bool any_requires_grad(std::initializer_list<const Var*> inputs) {
    if (!t_grad_enabled) return false;
    for (const Var* v : inputs)
        if (v && v->defined() && v->requires_grad()) return true;
    return false;
}

bool any_requires_grad(const std::vector<Var>& inputs) {
    if (!t_grad_enabled) return false;
    for (const Var& v : inputs)
        if (v.defined() && v.requires_grad()) return true;
    return false;
}

Var make_result(Tensor value, std::vector<Var> parents, BackwardFn fn) {
    Var out(std::move(value));
    if (!any_requires_grad(parents)) return out;
    VarImpl* impl = out.impl();
    impl->requires_grad = true;
    // Parents that need no gradient are dropped so backward never visits them.
    for (Var& p : parents)
        if (p.defined() && p.requires_grad()) impl->parents.push_back(std::move(p));
    impl->backward_fn = std::move(fn);
    return out;
}

float* grad_ptr(const Var& v) {
    if (!v.defined() || !v.requires_grad()) return nullptr;
    return const_cast<Var&>(v).grad_buffer().data<float>();
}

GradSink grad_sink(const Var& v) {
    GradSink s;
    if (!v.defined() || !v.requires_grad()) return s;
    VarImpl* impl = v.impl();
    s.fresh = !impl->grad.defined();
    if (s.fresh) impl->grad = Tensor::empty(impl->value.shape());
    s.data = impl->grad.data<float>();
    return s;
}

void give_grad(const Var& v, const Tensor& g) {
    if (!v.defined() || !v.requires_grad()) return;
    VarImpl* impl = v.impl();
    if (!impl->grad.defined()) {
        impl->grad = g.reshape(impl->value.shape());
        return;
    }
    float* dst = impl->grad.data<float>();
    const float* src = g.data<float>();
    const int64_t n = g.numel();
    for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

}  // namespace tern::nn
