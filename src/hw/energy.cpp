#include "hw/energy.h"

namespace tern::hw {

const char* cost_dtype_name(CostDType d) { return d == CostDType::int8 ? "int8" : "f32"; }

bool parse_cost_dtype(const std::string& s, CostDType& out) {
    if (s == "f32") out = CostDType::f32;
    else if (s == "int8") out = CostDType::int8;
    else return false;
    return true;
}

int64_t cost_dtype_bytes(CostDType d) { return d == CostDType::int8 ? 1 : 4; }

double EnergyModel::mac_pj(CostDType d) const {
    // int8 x int8 products summed in int32: the accumulator add is a 32-bit add.
    if (d == CostDType::int8) return OpEnergyPj::int8_mult + OpEnergyPj::int32_add;
    return OpEnergyPj::fp32_mult + OpEnergyPj::fp32_add;
}

double EnergyModel::op_pj(CostDType d) const {
    return d == CostDType::int8 ? OpEnergyPj::int8_add : OpEnergyPj::fp32_add;
}

double EnergyModel::sram_pj_per_byte(int64_t bytes) const {
    if (bytes <= 8 * 1024) return MemEnergyPj::sram_8k / 4;
    if (bytes <= 32 * 1024) return MemEnergyPj::sram_32k / 4;
    return MemEnergyPj::sram_1m / 4;
}

}  // namespace tern::hw
