#pragma once
// Compute-peak probes: long chains of independent FMA / dpbf16 / dpbusd
// instructions with no memory traffic. Their measured rate is the denominator
// of every "fraction of peak" tern reports, so it is measured on the user's
// machine rather than assumed from a clock.
#include <cstdint>
#include <span>

#include "core/cpu_features.h"

namespace tern {

struct PeakKernels {
    const char* name;
    Isa isa;
    // Each returns the number of operations executed (2 per multiply-add lane),
    // writing a value to *sink so the work cannot be optimised away.
    double (*fma_f32)(int64_t iterations, float* sink);
    double (*dot_bf16)(int64_t iterations, float* sink);    // nullptr when unsupported
    double (*dot_u8s8)(int64_t iterations, int32_t* sink);  // nullptr when unsupported
};

// The variant active_isa() chooses, and every variant this CPU supports (scalar
// first): tests, benchmarks and `tern info --cpu` walk these (kernel_table.h).
const PeakKernels& peak_kernel();
std::span<const PeakKernels* const> peak_variants();

extern const PeakKernels kPeakScalar;
extern const PeakKernels kPeakAvx2;
extern const PeakKernels kPeakAvx512;

}  // namespace tern
