#pragma once
// Energy per arithmetic operation and per memory access, from the published
// 45 nm, 0.9 V figures (Horowitz, "Computing's energy problem", ISSCC 2014),
// the table the efficient-ML lectures and Han et al. (EIE, ISCA 2016) quote.
// Absolute joules on a 2020s CPU differ; the ratios (a DRAM word costs ~100x
// an fp32 multiply-add and ~2000x an int8 one) are what the model is for.
#include <cstdint>
#include <string>

namespace tern::hw {

// The arithmetic a layer's multiply-adds run in.
enum class CostDType { f32, int8 };
const char* cost_dtype_name(CostDType d);
// "f32" / "int8"; false for anything else.
bool parse_cost_dtype(const std::string& s, CostDType& out);
int64_t cost_dtype_bytes(CostDType d);  // 4 / 1

// Horowitz 2014, 45 nm, picojoules per operation.
struct OpEnergyPj {
    static constexpr double int8_add = 0.03, int8_mult = 0.2;
    static constexpr double int32_add = 0.1, int32_mult = 3.1;
    static constexpr double fp16_add = 0.4, fp16_mult = 1.1;
    static constexpr double fp32_add = 0.9, fp32_mult = 3.7;
};

// Per 32-bit access. SRAM: Horowitz's 8 KB / 32 KB / 1 MB array figures.
// DRAM: 640 pJ per 32-bit word, the figure of Han et al. (EIE; Deep
// Compression, Fig. 1) derived from Horowitz's 1.3-2.6 nJ per 64-bit access.
struct MemEnergyPj {
    static constexpr double sram_8k = 5, sram_32k = 10, sram_1m = 20;
    static constexpr double dram = 640;
};

// The model `tern cost` applies: a multiply-add is one multiply and one add in
// the dtype (int8 products accumulate in int32, as every int8 kernel does);
// other arithmetic (pooling, elementwise, normalisation) is one add per op;
// weights come from DRAM; activations come from an on-chip buffer of
// `sram_bytes` when a layer's inputs and outputs fit in it, else from DRAM.
struct EnergyModel {
    int64_t sram_bytes = int64_t{1} << 20;  // a 1 MB buffer: Horowitz's largest SRAM row

    double mac_pj(CostDType d) const;
    double op_pj(CostDType d) const;
    double dram_pj_per_byte() const { return MemEnergyPj::dram / 4; }
    // Per byte read or written from an SRAM of `bytes` capacity: the smallest
    // of Horowitz's arrays that holds it (8 KB, 32 KB, else the 1 MB figure).
    double sram_pj_per_byte(int64_t bytes) const;
};

}  // namespace tern::hw
