// Training throughput of nn/: forward + backward (+ SGD step) of a LeNet-5-sized
// CNN at batch 64, 1 and 2 threads, reported as images/s.
// conv(1->6, 5x5) - relu - maxpool 2 - conv(6->16, 5x5) - relu - maxpool 2 -
// fc 400->120 - relu - fc 120->84 - relu - fc 84->10, cross-entropy, 32x32 input.
#include <benchmark/benchmark.h>

#include "core/thread_pool.h"
#include "nn/modules/conv.h"
#include "nn/modules/linear.h"
#include "nn/modules/sequential.h"
#include "nn/modules/stateless.h"
#include "nn/ops.h"
#include "nn/optim/optimizer.h"
#include "nn/random.h"

namespace {

using namespace tern;
using namespace tern::nn;

std::shared_ptr<Sequential> lenet5() {
    auto net = std::make_shared<Sequential>();
    net->add(std::make_shared<Conv2d>(1, 6, Conv2dOptions{5, 1, 0, 1, 1, true}, 1))
        .add(std::make_shared<ReLU>())
        .add(std::make_shared<MaxPool2d>(2))
        .add(std::make_shared<Conv2d>(6, 16, Conv2dOptions{5, 1, 0, 1, 1, true}, 2))
        .add(std::make_shared<ReLU>())
        .add(std::make_shared<MaxPool2d>(2))
        .add(std::make_shared<Flatten>())
        .add(std::make_shared<Linear>(400, 120, true, 3))
        .add(std::make_shared<ReLU>())
        .add(std::make_shared<Linear>(120, 84, true, 4))
        .add(std::make_shared<ReLU>())
        .add(std::make_shared<Linear>(84, 10, true, 5));
    return net;
}

void BM_LeNet5TrainStep(benchmark::State& st) {
    set_default_threads(static_cast<int>(st.range(0)));
    constexpr int64_t kBatch = 64;
    auto net = lenet5();
    SGD opt(net->parameters(), SgdOptions{0.01f, 0.9f});
    Rng rng(7);
    Tensor x = Tensor::empty({kBatch, 1, 32, 32});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = rng.normal();
    std::vector<int64_t> y(kBatch);
    for (auto& v : y) v = rng.below(10);
    Var xv(x);
    for (auto _ : st) {
        opt.zero_grad();
        Var loss = cross_entropy(net->forward(xv), y);
        loss.backward();
        opt.step();
        benchmark::DoNotOptimize(loss.item());
    }
    st.counters["images/s"] = benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LeNet5TrainStep)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
