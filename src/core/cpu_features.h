#pragma once
// CPU feature detection (cpuid + xgetbv) and the instruction-set level that
// kernel tables dispatch on. The level is chosen once per process: the best the
// CPU and OS support, or what TERN_ISA forces (scalar|avx2|avx512).
#include <string>
#include <string_view>

namespace tern {

struct CpuFeatures {
    std::string vendor;
    std::string brand;
    bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512vnni = false, avx512bf16 = false, avx_vnni = false;
    bool os_avx = false, os_avx512 = false;  // XSAVE state enabled by the OS
    int logical_cores = 1;
    int physical_cores = 1;
    // Per-core L2 size (the C library's cpuid decoding); 1 MiB when it reports none.
    // GEMM drivers size the A block they keep in L2 by it (512 KiB on Zen 3, 1 MiB on Zen 4/5).
    long l2_cache_bytes = 1 << 20;
};

// Detected once; thread-safe.
const CpuFeatures& cpu_features();

// Dispatch levels, ordered: a higher level implies all lower ones.
// avx2   = AVX2 + FMA + F16C + BMI2
// avx512 = AVX-512 F/BW/VL/DQ + VNNI + BF16 (Zen 4 / Sapphire Rapids class)
enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

std::string_view isa_name(Isa isa);
bool isa_supported(Isa isa);
Isa best_supported_isa();
// The level in force: TERN_ISA if set (throws UsageError when the CPU lacks it,
// unless TERN_ISA_SKIP_UNSUPPORTED is set, then it falls back to the best level),
// else the best supported level. Computed once.
Isa active_isa();

}  // namespace tern
