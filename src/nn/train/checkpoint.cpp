#include "nn/train/checkpoint.h"

#include <cstring>
#include <map>

#include "core/error.h"

namespace tern::nn::train {
namespace {

std::map<std::string, const Tensor*> by_name(const std::vector<NamedTensor>& tensors) {
    std::map<std::string, const Tensor*> m;
    for (const auto& nt : tensors) m[nt.name] = &nt.tensor;
    return m;
}

// Copies `src` (any plain float dtype) into the f32 tensor `dst` of equal shape.
void copy_into(Tensor& dst, const Tensor& src, const std::string& name, const std::string& where) {
    if (src.shape() != dst.shape())
        throw InputError(where, "tensor '" + name + "' has shape " + shape_to_string(src.shape()) + ", the model expects " +
                                    shape_to_string(dst.shape()) + " (checkpoint does not fit this model)");
    if (src.dtype() == DType::f32) {
        const Tensor c = src.contiguous();  // const: the source may be a read-only file mapping
        std::memcpy(dst.data<float>(), c.raw_data(), dst.nbytes());
        return;
    }
    const std::vector<float> v = src.to_floats();
    std::memcpy(dst.data<float>(), v.data(), v.size() * sizeof(float));
}

}  // namespace

std::vector<NamedTensor> module_state(const Module& m) {
    std::vector<NamedTensor> out;
    for (const auto& [name, v] : m.named_parameters()) out.push_back({name, v.value()});
    for (const auto& [name, t] : m.named_buffers()) out.push_back({name, t});
    return out;
}

void load_module_state(Module& m, const std::vector<NamedTensor>& tensors, const std::string& where) {
    auto have = by_name(tensors);
    auto take = [&](const std::string& name, Tensor& dst) {
        auto it = have.find(name);
        if (it == have.end())
            throw InputError(where, "tensor '" + name + "' is missing (checkpoint does not fit this model)");
        copy_into(dst, *it->second, name, where);
        have.erase(it);
    };
    for (auto& [name, v] : m.named_parameters()) take(name, v.value());
    for (auto& [name, t] : m.named_buffers()) take(name, t);
    for (const auto& [name, t] : have)
        if (name.rfind(kOptimPrefix, 0) != 0)
            throw InputError(where, "unexpected tensor '" + name + "' (checkpoint does not fit this model)");
}

std::vector<NamedTensor> optimizer_state(Optimizer& opt, const Module& m) {
    const auto params = m.named_parameters();
    std::vector<NamedTensor> out;
    for (auto& [slot, tensors] : opt.state_slots())
        for (size_t i = 0; i < tensors->size() && i < params.size(); ++i)
            if ((*tensors)[i].defined())
                out.push_back({std::string(kOptimPrefix) + slot + "." + params[i].first, (*tensors)[i]});
    return out;
}

void load_optimizer_state(Optimizer& opt, const Module& m, const std::vector<NamedTensor>& tensors,
                          const std::string& where) {
    const auto params = m.named_parameters();
    const auto have = by_name(tensors);
    for (auto& [slot, slot_tensors] : opt.state_slots())
        for (size_t i = 0; i < slot_tensors->size() && i < params.size(); ++i) {
            const std::string name = std::string(kOptimPrefix) + slot + "." + params[i].first;
            auto it = have.find(name);
            if (it == have.end()) {
                (*slot_tensors)[i] = Tensor();
                continue;
            }
            Tensor t = Tensor::empty(params[i].second.shape());
            copy_into(t, *it->second, name, where);
            (*slot_tensors)[i] = t;
        }
}

}  // namespace tern::nn::train
