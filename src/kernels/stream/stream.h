#pragma once
// Streaming read kernel: sums a buffer with many independent accumulators so
// the loop is bound by memory, not by add latency (a one-accumulator loop
// reads at about half the machine's bandwidth). The sum defeats dead-code
// elimination; it is the bandwidth-roofline probe for GEMV and decode.
#include <cstdint>
#include <span>

#include "core/cpu_features.h"

namespace tern {

struct StreamKernels {
    const char* name;
    Isa isa;
    // Sum of n floats (n a multiple of 64, p 64-byte aligned).
    float (*read_sum)(const float* p, int64_t n);
};

// The variant active_isa() chooses, and every variant this CPU supports (scalar
// first): tests, benchmarks and `tern info --cpu` walk these (kernel_table.h).
const StreamKernels& stream_kernel();
std::span<const StreamKernels* const> stream_variants();

extern const StreamKernels kStreamScalar;
extern const StreamKernels kStreamAvx2;
extern const StreamKernels kStreamAvx512;

}  // namespace tern
