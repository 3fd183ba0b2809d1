#pragma once
// Panel packing of A for the blocked GEMMs: gathers 4-byte units (an f32, a
// bf16 pair, an int8 quad) from `live` rows into MR-row panels, unit g of row r
// at out[g * mr + r]. This is a transpose of 4-byte units; written per ISA
// because the scalar form (one 4-byte load and store per unit) took ~3 % of a
// u8s8 2048³ GEMM. The SIMD variants move 4 rows × 4 units per 128-bit lane.
#include <cstdint>
#include <span>

#include "core/cpu_features.h"

namespace tern {

struct PackKernels {
    const char* name;
    Isa isa;
    // out[g * mr + r] = the 4 bytes at src + r * ld + 4 * g, for r < live <= mr and
    // g < units; other rows of out are left untouched. ld is in bytes.
    void (*rows_u32)(const uint8_t* src, int64_t ld, int live, int64_t units, int mr, uint8_t* out);
};

// The variant active_isa() chooses, and every variant this CPU supports (scalar
// first): tests, benchmarks and `tern info --cpu` walk these (kernel_table.h).
const PackKernels& pack_kernel();
std::span<const PackKernels* const> pack_variants();

extern const PackKernels kPackScalar;
extern const PackKernels kPackAvx2;
extern const PackKernels kPackAvx512;

namespace pack_detail {
// Asks for the line 1 KiB ahead in each of `rows` rows. Packing reads MR rows
// side by side; when A comes from DRAM the hardware prefetcher does not keep that
// many streams ahead (bench/RESULTS_gemm.md).
inline void prefetch_rows(const uint8_t* p, int64_t ld, int rows) {
    for (int r = 0; r < rows; ++r) __builtin_prefetch(p + r * ld + 1024);
}
}  // namespace pack_detail

}  // namespace tern
