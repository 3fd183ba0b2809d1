// Scalar reference quantize/dequantize throughput of every format (elements/s).
// These are the references, not the kernels: the figure says how long
// `tern quantize` with RTN takes per billion weights.
#include <benchmark/benchmark.h>

#include <vector>

#include "formats/format.h"
#include "formats/format_error.h"

namespace {

void register_all() {
    for (const auto& f : tern::all_formats()) {
        const tern::FormatDescriptor* fmt = &f;
        benchmark::RegisterBenchmark(("quantize/" + std::string(f.name)).c_str(), [fmt](benchmark::State& st) {
            const int64_t n = 1 << 16;
            const auto x = tern::synthetic_data("gaussian", n, 1);
            std::vector<uint8_t> q(fmt->bytes_for(n));
            for (auto _ : st) {
                fmt->quantize(x.data(), q.data(), n);
                benchmark::DoNotOptimize(q.data());
            }
            st.SetItemsProcessed(st.iterations() * n);
        });
        benchmark::RegisterBenchmark(("dequantize/" + std::string(f.name)).c_str(), [fmt](benchmark::State& st) {
            const int64_t n = 1 << 16;
            const auto x = tern::synthetic_data("gaussian", n, 1);
            std::vector<uint8_t> q(fmt->bytes_for(n));
            fmt->quantize(x.data(), q.data(), n);
            std::vector<float> y(static_cast<size_t>(n));
            for (auto _ : st) {
                fmt->dequantize(q.data(), y.data(), n);
                benchmark::DoNotOptimize(y.data());
            }
            st.SetItemsProcessed(st.iterations() * n);
        });
    }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
