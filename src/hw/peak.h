#pragma once
// Measured compute peaks of this machine (per thread and for the pool), the
// denominators of "fraction of peak" in benchmarks and `tern bench --kernels`.
namespace tern {

struct ComputePeaks {
    int threads = 1;
    double f32_gflops = 0;   // FMA, all threads
    double bf16_gflops = 0;  // 0 when the CPU has no BF16 dot product
    double int8_gops = 0;    // u8 x s8: VNNI vpdpbusd, or AVX2 vpmaddubsw + i16 add; 0 when neither
};

// Runs each probe for ~`seconds` on every thread of the default pool; cached
// per thread count.
ComputePeaks measure_compute_peaks(double seconds = 0.05);

}  // namespace tern
