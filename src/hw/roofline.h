#pragma once
// Per-layer cost records and the roofline of a model: how much arithmetic and
// memory traffic each layer needs, the latency a machine of a given peak and
// bandwidth could at best run it in, and the energy it takes (energy.h).
// The walkers that fill LayerCost from a model live above hw/ (interop/model_cost.h).
#include <cstdint>
#include <string>
#include <vector>

#include "hw/energy.h"

namespace tern::hw {

// What one layer (a graph node, a module) costs, counted in elements so the
// dtype can be chosen afterwards.
struct LayerCost {
    std::string name;
    std::string kind;               // "Conv", "Gemm", "MaxPool", ...
    int64_t macs = 0;               // multiply-adds (convolutions, matrix products)
    int64_t ops = 0;                // other arithmetic: pooling taps, elementwise, normalisation
    int64_t params = 0;             // weight and bias elements
    int64_t activations_read = 0;   // input elements (not weights)
    int64_t activations_written = 0;
};

// The machine the roofline is drawn for: ops/s of the dtype (a multiply-add
// counts 2) and bytes/s from memory.
struct Machine {
    double peak_gops = 0;
    double bandwidth_gbps = 0;
};

struct LayerRoofline {
    LayerCost cost;
    int64_t weight_bytes = 0;
    int64_t activation_bytes = 0;  // read + written
    double intensity = 0;          // ops (2 per MAC + other ops) per byte moved
    double compute_s = 0, memory_s = 0;
    double bound_s = 0;            // max(compute_s, memory_s)
    bool memory_bound = false;
    double compute_pj = 0, memory_pj = 0;
};

struct ModelRoofline {
    CostDType dtype = CostDType::f32;
    Machine machine;
    std::vector<LayerRoofline> layers;
    LayerRoofline total;  // sums; intensity of the sums; bound_s the sum of the layers' bounds
};

LayerRoofline layer_roofline(const LayerCost& c, CostDType dtype, const Machine& m, const EnergyModel& e = {});
// Throws InputError("machine", ...) for a peak or bandwidth that is not a positive number.
ModelRoofline model_roofline(const std::vector<LayerCost>& layers, CostDType dtype, const Machine& m,
                             const EnergyModel& e = {});

// This machine, measured (hw/peak.h on the default pool, hw/bandwidth.h on a
// `probe_bytes` buffer): f32 FMA or int8 dot-product peak.
Machine measured_machine(CostDType dtype, uint64_t probe_bytes = uint64_t{256} << 20);

}  // namespace tern::hw
