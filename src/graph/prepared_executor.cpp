#include "graph/prepared_executor.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "graph/executor.h"
#include "graph/op_registry.h"

namespace tern::graph {

namespace {

DType declared_dtype(const Graph& g, const std::string& name) {
    auto it = g.values.find(name);
    return it != g.values.end() && it->second.dtype ? *it->second.dtype : DType::f32;
}

// Multiply-adds of the matrix products that run on their reference op (Gemm, MatMul).
int64_t reference_macs(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                       const std::vector<ValueSlot>& slots) {
    if ((n.op_type != "Gemm" && n.op_type != "MatMul") || in.size() < 2 || in[0] < 0 || out.empty() || out[0] < 0) return 0;
    const Shape& a = slots[in[0]].shape;
    if (a.empty()) return 0;
    const int64_t k = n.op_type == "Gemm" && n.attr_int("transA", 0) != 0 ? a[0] : a.back();
    return shape_numel(slots[out[0]].shape) * k;
}

}  // namespace

PreparedExecutor::PreparedExecutor(const Graph& g, const std::map<std::string, Shape>& input_shapes)
    : g_(g), input_shapes_(input_shapes) {
    // Shapes and dtypes of every value at these input shapes, from one reference run on zeros.
    std::map<std::string, Tensor> zeros;
    for (const std::string& name : g.inputs) {
        auto it = input_shapes.find(name);
        if (it == input_shapes.end()) throw InputError("input '" + name + "'", "the plan needs its shape");
        zeros[name] = Tensor::zeros(it->second, declared_dtype(g, name));
    }
    std::map<std::string, std::pair<Shape, DType>> seen;
    Executor(g).run(zeros, [&](const std::string& name, const Tensor& t) { seen[name] = {t.shape(), t.dtype()}; });

    auto slot_of = [&](const std::string& name, ValueSlot::Home home) {
        auto it = ids_.find(name);
        if (it != ids_.end()) return it->second;
        ValueSlot s;
        s.name = name;
        s.home = home;
        if (home == ValueSlot::Home::initializer) {
            s.init = &g.initializers.at(name);
            s.shape = s.init->shape(), s.dtype = s.init->dtype();
        } else if (home == ValueSlot::Home::input) {
            s.shape = input_shapes.at(name), s.dtype = zeros.at(name).dtype();
        } else {
            s.shape = seen.at(name).first, s.dtype = seen.at(name).second;
        }
        s.bytes = static_cast<int64_t>(dtype_bytes_for(s.dtype, static_cast<uint64_t>(shape_numel(s.shape))));
        slots_.push_back(s);
        return ids_[name] = static_cast<int>(slots_.size()) - 1;
    };
    for (const std::string& name : g.inputs) slot_of(name, ValueSlot::Home::input);

    const std::vector<size_t> order = g.topological_order();
    for (size_t i : order) {
        const Node& n = g.nodes[i];
        Step s{&n, {}, {}, {}, false, false};
        for (const std::string& in : n.inputs) {
            s.in.push_back(in.empty() ? -1 : slot_of(in, ids_.count(in) || !g.initializers.count(in) ? ValueSlot::Home::arena : ValueSlot::Home::initializer));
        }
        for (const std::string& out : n.outputs) s.out.push_back(out.empty() ? -1 : slot_of(out, ValueSlot::Home::arena));
        steps_.push_back(std::move(s));
    }
    // Last step that reads each value; graph outputs are read after the last step.
    const int64_t end = static_cast<int64_t>(steps_.size());
    std::vector<int64_t> last(slots_.size(), -1);
    for (int64_t k = 0; k < end; ++k) {
        for (int v : steps_[k].in) {
            if (v >= 0) last[v] = k;
        }
        for (int v : steps_[k].out) {
            if (v >= 0) last[v] = std::max(last[v], k);
        }
    }
    for (const std::string& name : g.outputs) {
        if (ids_.count(name)) last[ids_[name]] = end;
    }

    std::vector<int64_t> buffer_last;  // the last read of any value placed in the buffer so far
    auto new_buffer = [&](int v, int64_t k) {
        slots_[v].buffer = static_cast<int>(buffers_.size());
        buffers_.push_back({slots_[v].bytes, k, last[v]});
        buffer_last.push_back(last[v]);
    };
    auto join_buffer = [&](int v, int b) {
        slots_[v].buffer = b;
        buffers_[b].bytes = std::max(buffers_[b].bytes, slots_[v].bytes);
        buffer_last[b] = std::max(buffer_last[b], last[v]);
        buffers_[b].last = buffer_last[b];
    };
    auto arena_value = [&](int v) { return v >= 0 && slots_[v].home == ValueSlot::Home::arena; };
    for (int64_t k = 0; k < end; ++k) {
        Step& s = steps_[k];
        std::optional<PreparedStep> p = prepare_step(g, *s.node, s.in, s.out, slots_);
        s.reference = !p;
        if (p) s.prepared = std::move(*p), ++prepared_;
        macs_ += p ? s.prepared.macs : reference_macs(*s.node, s.in, s.out, slots_);
        if (s.prepared.alias) {
            if (arena_value(s.in[0])) {
                join_buffer(s.out[0], slots_[s.in[0]].buffer);
                continue;
            }
            s.copy = true;
        }
        int shared = -1;  // an input buffer the output may take over
        for (int which : s.prepared.in_place_inputs) {
            const int v = s.in[which];
            if (!arena_value(v) || slots_[v].bytes != slots_[s.out[0]].bytes || buffer_last[slots_[v].buffer] > k) continue;
            bool clash = false;  // another input in the same buffer read at other indices
            for (size_t j = 0; j < s.in.size(); ++j) {
                const bool full = std::count(s.prepared.in_place_inputs.begin(), s.prepared.in_place_inputs.end(), int(j)) > 0;
                clash = clash || (static_cast<int>(j) != which && arena_value(s.in[j]) && slots_[s.in[j]].buffer == slots_[v].buffer && !full);
            }
            if (!clash) {
                shared = slots_[v].buffer;
                break;
            }
        }
        for (size_t o = 0; o < s.out.size(); ++o) {
            if (s.out[o] < 0) continue;
            if (o == 0 && shared >= 0) {
                join_buffer(s.out[o], shared);
            } else {
                new_buffer(s.out[o], k);
            }
        }
    }
    plan_ = plan_memory(buffers_);
    plan_.naive_bytes = 0;  // every node output its own allocation, none freed
    for (const ValueSlot& v : slots_) plan_.naive_bytes += v.home == ValueSlot::Home::arena ? v.bytes : 0;

    arena_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(aligned_alloc_bytes(std::max<int64_t>(plan_.arena_bytes, 64))),
                                      aligned_free_bytes);
    frame_.read.assign(slots_.size(), nullptr);
    frame_.write.assign(slots_.size(), nullptr);
    for (size_t v = 0; v < slots_.size(); ++v) {
        if (slots_[v].home == ValueSlot::Home::arena) {
            frame_.write[v] = arena_.get() + plan_.offsets[slots_[v].buffer];
            frame_.read[v] = frame_.write[v];
        } else if (slots_[v].home == ValueSlot::Home::initializer) {
            frame_.read[v] = slots_[v].init->raw_data();
        }
    }
}

void PreparedExecutor::run_reference(const Step& s) {
    const Node& n = *s.node;
    std::vector<Tensor> held(s.in.size());
    OpContext ctx{n, g_.opset, {}, std::vector<Tensor>(n.outputs.size())};
    for (size_t k = 0; k < s.in.size(); ++k) {
        const int v = s.in[k];
        if (v < 0) {
            ctx.in.push_back(nullptr);
            continue;
        }
        const ValueSlot& slot = slots_[v];
        if (slot.home == ValueSlot::Home::initializer) {
            ctx.in.push_back(slot.init);
            continue;
        }
        held[k] = Tensor::empty(slot.shape, slot.dtype);
        std::memcpy(held[k].raw_data(), frame_.read[v], static_cast<size_t>(slot.bytes));
        ctx.in.push_back(&held[k]);
    }
    find_op(n.op_type)(ctx);
    for (size_t k = 0; k < s.out.size(); ++k) {
        const int v = s.out[k];
        if (v < 0) continue;
        const Tensor t = ctx.out[k].contiguous();
        if (!t.defined()) throw n.error("output " + std::to_string(k) + " is not produced by tern's " + n.op_type);
        if (t.shape() != slots_[v].shape || t.dtype() != slots_[v].dtype) {
            throw n.error("output '" + slots_[v].name + "' is " + shape_to_string(t.shape()) +
                          " at run time but was planned as " + shape_to_string(slots_[v].shape) +
                          " (its shape depends on the input's values)");
        }
        std::memcpy(frame_.write[v], t.raw_data(), static_cast<size_t>(slots_[v].bytes));
    }
}

std::map<std::string, Tensor> PreparedExecutor::run(const std::map<std::string, Tensor>& inputs) {
    held_inputs_.clear();
    for (const std::string& name : g_.inputs) {
        auto it = inputs.find(name);
        if (it == inputs.end()) throw InputError("input '" + name + "'", "the model needs it and none was given");
        const ValueSlot& slot = slots_[ids_.at(name)];
        if (it->second.shape() != slot.shape || it->second.dtype() != slot.dtype) {
            throw InputError("input '" + name + "'", "is " + std::string(dtype_name(it->second.dtype())) + " " +
                                                         shape_to_string(it->second.shape()) + ", the plan was made for " +
                                                         std::string(dtype_name(slot.dtype)) + " " + shape_to_string(slot.shape));
        }
        held_inputs_.push_back(it->second.contiguous());
        frame_.read[ids_.at(name)] = held_inputs_.back().raw_data();
    }
    for (const auto& [name, t] : inputs) {
        if (!input_shapes_.count(name)) throw InputError("input '" + name + "'", "the model has no such input");
    }
    for (const Step& s : steps_) {
        if (s.reference) {
            run_reference(s);
        } else if (s.copy) {
            std::memcpy(frame_.write[s.out[0]], frame_.read[s.in[0]], static_cast<size_t>(slots_[s.out[0]].bytes));
        } else if (!s.prepared.alias) {
            s.prepared.run(frame_);
        }
    }
    std::map<std::string, Tensor> out;
    for (const std::string& name : g_.outputs) {
        auto id = ids_.find(name);
        if (id == ids_.end()) {
            auto init = g_.initializers.find(name);
            if (init == g_.initializers.end()) throw InputError("onnx", "graph output '" + name + "' was not produced");
            out[name] = init->second;
            continue;
        }
        const ValueSlot& slot = slots_[id->second];
        Tensor t = Tensor::empty(slot.shape, slot.dtype);
        std::memcpy(t.raw_data(), frame_.read[id->second], static_cast<size_t>(slot.bytes));
        out[name] = std::move(t);
    }
    return out;
}

}  // namespace tern::graph
