#include "nas/proxyless_latency.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include "core/error.h"

namespace tern::nas {

std::vector<MixedSlot> mixed_slots(const Space& s, double width, const std::string& where, int64_t resolution) {
    std::vector<MixedSlot> slots;
    int64_t channels = scaled_channels(s.stem, width), size = resolution;
    for (size_t i = 0; i < s.stages.size(); ++i) {
        const StageSpace& st = s.stages[i];
        std::vector<int64_t> d = st.depths;
        std::sort(d.begin(), d.end());
        for (size_t k = 1; k < d.size(); ++k)
            if (d[k] != d[k - 1] + 1)
                throw InputError(where, format("proxyless needs each stage's depths to be a contiguous range; stage %zu allows "
                                               "%lld and %lld but not the depths between",
                                               i, (long long)d[k - 1], (long long)d[k]));
        const int64_t out = scaled_channels(st.channels, width);
        for (int64_t j = 0; j < d.back(); ++j) {
            MixedSlot slot;
            slot.stage = i;
            slot.index = static_cast<size_t>(j);
            slot.in_channels = j == 0 ? channels : out;
            slot.out_channels = out;
            slot.stride = j == 0 ? st.stride : 1;
            slot.size = size;
            for (int64_t k : s.kernels)
                for (int64_t e : s.expansions) slot.ops.push_back({k, e, false});
            // Past the smallest depth a block may be left out; those blocks keep
            // their channels at stride 1, so leaving one out is an identity.
            if (j >= d.front()) slot.ops.push_back({0, 0, true});
            if (j == 0) size = (size + 2 * (s.kernels.front() / 2) - s.kernels.front()) / st.stride + 1;
            slots.push_back(std::move(slot));
        }
        channels = out;
    }
    return slots;
}

Arch choice_arch(const Space& s, double width, const std::vector<MixedSlot>& slots, const std::vector<int>& choice) {
    if (choice.size() != slots.size()) throw Error("proxyless", "one choice per slot expected");
    Arch a;
    a.stem = s.stem;
    a.head = s.head;
    a.width = width;
    for (const StageSpace& st : s.stages) a.stages.push_back({st.channels, st.stride, {}});
    for (size_t i = 0; i < slots.size(); ++i) {
        const CandidateOp& op = slots[i].ops.at(static_cast<size_t>(choice[i]));
        if (!op.skip) a.stages[slots[i].stage].blocks.push_back({op.kernel, op.expansion});
    }
    return a;
}

std::vector<int> arch_choice(const Arch& a, const std::vector<MixedSlot>& slots) {
    std::vector<int> choice;
    for (const MixedSlot& slot : slots) {
        const auto& blocks = a.stages.at(slot.stage).blocks;
        int pick = -1;
        for (size_t o = 0; o < slot.ops.size() && pick < 0; ++o) {
            const CandidateOp& op = slot.ops[o];
            if (slot.index >= blocks.size() ? op.skip
                                            : !op.skip && op.kernel == blocks[slot.index].kernel &&
                                                  op.expansion == blocks[slot.index].expansion)
                pick = static_cast<int>(o);
        }
        if (pick < 0) throw Error("proxyless", "architecture is not one of the supernet's");
        choice.push_back(pick);
    }
    return choice;
}

double SlotLatencies::of(const std::vector<int>& choice) const {
    double ms = fixed_ms;
    for (size_t i = 0; i < choice.size(); ++i) ms += op_ms.at(i).at(static_cast<size_t>(choice[i]));
    return ms;
}

SlotLatencies slot_latencies(const Space& s, double width, const std::vector<MixedSlot>& slots, const LayerLatency& layer_us,
                             int64_t in_channels, int64_t num_classes) {
    using hw::LayerConfig;
    using hw::LayerKind;
    auto layer = [](LayerKind k, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t size, int64_t e = 1) {
        LayerConfig c = hw::layer_config(k, in, out, kernel, stride, size);
        c.expansion = e;
        return c;
    };
    SlotLatencies l;
    const int64_t stem = scaled_channels(s.stem, width), head = scaled_channels(s.head, width);
    const int64_t last = slots.empty() ? stem : slots.back().out_channels;
    int64_t final_size = 28;
    for (const MixedSlot& slot : slots)
        if (slot.index == 0) final_size = (slot.size - 1) / slot.stride + 1;  // "same" padding
    // The layers every architecture has (ReLU6 timed as the table's ReLU).
    double fixed_us = layer_us(layer(LayerKind::conv, in_channels, stem, 3, 1, 28)) + layer_us(layer(LayerKind::relu, stem, stem, 1, 1, 28));
    fixed_us += layer_us(layer(LayerKind::conv, last, head, 1, 1, final_size)) + layer_us(layer(LayerKind::relu, head, head, 1, 1, final_size));
    fixed_us += layer_us(layer(LayerKind::global_avgpool, head, head, 1, 1, final_size));
    fixed_us += layer_us(layer(LayerKind::linear, head, num_classes, 1, 1, 1));
    l.fixed_ms = fixed_us / 1000.0;
    for (const MixedSlot& slot : slots) {
        std::vector<double> ms;
        for (const CandidateOp& op : slot.ops)
            ms.push_back(op.skip ? 0.0
                                 : layer_us(layer(LayerKind::mbconv, slot.in_channels, slot.out_channels, op.kernel, slot.stride,
                                                  slot.size, op.expansion)) / 1000.0);
        l.op_ms.push_back(std::move(ms));
    }
    return l;
}

void apply_scale(SlotLatencies& l, double scale) {
    l.fixed_ms *= scale;
    for (auto& ms : l.op_ms)
        for (double& m : ms) m *= scale;
    l.scale *= scale;
}

TableLatency default_table_latency() {
    const std::string path = hw::default_latency_table_path();
    auto table = std::make_shared<hw::LatencyTable>(hw::LatencyTable::load(path));
    TableLatency t;
    t.latency = [table](const hw::LayerConfig& c) { return table->lookup_or_measure(c); };
    t.save = [table, path] {
        if (table->measured() == 0) return;
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
        table->save(path);
    };
    return t;
}

std::vector<double> softmax(const std::vector<double>& alpha) {
    const double top = *std::max_element(alpha.begin(), alpha.end());
    std::vector<double> p(alpha.size());
    double sum = 0;
    for (size_t i = 0; i < alpha.size(); ++i) sum += p[i] = std::exp(alpha[i] - top);
    for (double& x : p) x /= sum;
    return p;
}

ExpectedLatency expected_latency(const SlotLatencies& l, const std::vector<std::vector<double>>& alpha) {
    ExpectedLatency e;
    e.ms = l.fixed_ms;
    for (size_t s = 0; s < alpha.size(); ++s) {
        const std::vector<double> p = softmax(alpha[s]);
        double slot_ms = 0;  // E over this slot's ops
        for (size_t o = 0; o < p.size(); ++o) slot_ms += p[o] * l.op_ms[s][o];
        e.ms += slot_ms;
        // d/d alpha_i sum_j p_j lat_j = p_i (lat_i - E_slot)
        std::vector<double> g(p.size());
        for (size_t o = 0; o < p.size(); ++o) g[o] = p[o] * (l.op_ms[s][o] - slot_ms);
        e.grad.push_back(std::move(g));
    }
    return e;
}

LatencyLoss latency_loss(double ce, double expected_ms, double target_ms, double beta) {
    LatencyLoss r;
    const double factor = std::pow(expected_ms / target_ms, beta);
    r.loss = ce * factor;
    r.d_ce = factor;
    r.d_latency = ce * beta * factor / expected_ms;
    return r;
}

}  // namespace tern::nas
