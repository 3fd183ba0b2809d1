#include "nn/modules/module.h"

#include <unordered_set>

namespace tern::nn {

void Module::collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Var>>& out) const {
    for (const auto& [name, v] : params_) out.emplace_back(prefix + name, v);
    for (const auto& [name, m] : children_) m->collect_parameters(prefix + name + ".", out);
}

void Module::collect_buffers(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const {
    for (const auto& [name, t] : buffers_) out.emplace_back(prefix + name, t);
    for (const auto& [name, m] : children_) m->collect_buffers(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Var>> Module::named_parameters() const {
    std::vector<std::pair<std::string, Var>> out;
    collect_parameters("", out);
    // A parameter shared by two children (tied weights) is listed once.
    std::unordered_set<VarImpl*> seen;
    std::vector<std::pair<std::string, Var>> unique;
    for (auto& p : out)
        if (seen.insert(p.second.impl()).second) unique.push_back(std::move(p));
    return unique;
}

std::vector<Var> Module::parameters() const {
    std::vector<Var> out;
    for (auto& p : named_parameters()) out.push_back(p.second);
    return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
    std::vector<std::pair<std::string, Tensor>> out;
    collect_buffers("", out);
    return out;
}

int64_t Module::parameter_count() const {
    int64_t n = 0;
    for (const auto& p : named_parameters()) n += p.second.numel();
    return n;
}

void Module::train(bool on) {
    training_ = on;
    for (auto& c : children_) c.second->train(on);
}

void Module::zero_grad() {
    for (auto& p : named_parameters()) p.second.zero_grad();
}

Var Module::register_parameter(const std::string& name, Tensor value) {
    Var v(std::move(value), true);
    params_.emplace_back(name, v);
    return v;
}

void Module::register_buffer(const std::string& name, Tensor t) { buffers_.emplace_back(name, std::move(t)); }

}  // namespace tern::nn
