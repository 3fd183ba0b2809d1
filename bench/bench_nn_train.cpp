// Training throughput of the zoo models (nn/models/zoo.h) as `tern train` runs
// them: batch 64 of 28x28x1 images, cross-entropy, SGD with the recipes'
// settings (lr 0.05, momentum 0.9, Nesterov, weight decay 5e-4). One step =
// zero_grad + forward + backward + step; reported as images/s.
// Names: train_step/<model>/threads:<n>. bench/torch_train.py runs the same
// step in PyTorch and this program alternately.
#include <benchmark/benchmark.h>

#include <string>

#include "core/thread_pool.h"
#include "nn/models/zoo.h"
#include "nn/ops.h"
#include "nn/optim/optimizer.h"
#include "nn/random.h"

namespace {

using namespace tern;
using namespace tern::nn;

constexpr int64_t kBatch = 64;

void train_step(benchmark::State& st, const std::string& model_name, int threads) {
    set_default_threads(threads);
    auto net = models::make_model(model_name, 1);
    net->train();
    SGD opt(net->parameters(), SgdOptions{0.05f, 0.9f, 0.0f, 5e-4f, true});
    Rng rng(7);
    Tensor x = Tensor::empty({kBatch, 1, 28, 28});  // (N, C, H, W)
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = rng.normal();
    std::vector<int64_t> y(kBatch);
    for (auto& v : y) v = rng.below(10);
    const Var xv(x);
    for (auto _ : st) {
        opt.zero_grad();
        Var loss = cross_entropy(net->forward(xv), y);
        loss.backward();
        opt.step();
        benchmark::DoNotOptimize(loss.item());
    }
    st.counters["images/s"] = benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

const int kRegistered = [] {
    for (const char* model : {"lenet300", "lenet5", "lenet5_bn", "mobilenetv2_tiny"})
        for (int threads : {1, 2})
            benchmark::RegisterBenchmark(("train_step/" + std::string(model) + "/threads:" + std::to_string(threads)).c_str(),
                                         [model, threads](benchmark::State& st) { train_step(st, model, threads); })
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
    return 0;
}();

}  // namespace

BENCHMARK_MAIN();
