#include "nas/cost.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/thread_pool.h"
#include "nas/build.h"
#include "nn/autograd.h"

namespace tern::nas {

ArchCost arch_cost(const Arch& a, int64_t in_channels, int64_t num_classes, int64_t resolution) {
    ArchCost c;
    int64_t r = resolution;  // spatial side at the current layer
    const int64_t stem = scaled_channels(a.stem, a.width);
    c.params += in_channels * stem * 9 + 2 * stem;  // 3x3 conv, no bias; BN gamma and beta
    c.macs += r * r * in_channels * stem * 9;
    int64_t channels = stem;
    for (const StageArch& s : a.stages) {
        const int64_t out = scaled_channels(s.channels, a.width);
        for (size_t b = 0; b < s.blocks.size(); ++b) {
            const int64_t k = s.blocks[b].kernel, e = s.blocks[b].expansion, hidden = channels * e;
            const int64_t stride = b == 0 ? s.stride : 1;
            if (e != 1) {
                c.params += channels * hidden + 2 * hidden;
                c.macs += r * r * channels * hidden;
            }
            const int64_t ro = (r + 2 * (k / 2) - k) / stride + 1;  // padding k/2
            c.params += hidden * k * k + 2 * hidden;
            c.macs += ro * ro * hidden * k * k;
            c.params += hidden * out + 2 * out;
            c.macs += ro * ro * hidden * out;
            r = ro;
            channels = out;
        }
    }
    const int64_t head = scaled_channels(a.head, a.width);
    c.params += channels * head + 2 * head;
    c.macs += r * r * channels * head;
    c.params += head * num_classes + num_classes;
    c.macs += head * num_classes;
    return c;
}

namespace {

// One thread while it lives; the caller's count afterwards, also on a throw.
struct SingleThread {
    int before = default_thread_count();
    SingleThread() { set_default_threads(1); }
    ~SingleThread() { set_default_threads(before); }
};

}  // namespace

double measure_latency_ms(const Arch& a, int runs, int64_t resolution) {
    const SingleThread one_thread;
    auto model = build_model(a, 1);
    model->eval();
    nn::NoGradGuard no_grad;
    const nn::Var x(Tensor::zeros({1, 1, resolution, resolution}));
    std::vector<double> ms;
    constexpr int kWarmups = 2;  // caches, allocators and lazily built kernels
    for (int i = 0; i < kWarmups + std::max(1, runs); ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        model->forward(x);
        const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (i >= kWarmups) ms.push_back(t);
    }
    std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
    return ms[ms.size() / 2];
}

LatencyEstimator measured_latency(int runs) {
    return [runs](const Arch& a) { return measure_latency_ms(a, runs); };
}

}  // namespace tern::nas
