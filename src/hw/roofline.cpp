#include "hw/roofline.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "hw/bandwidth.h"
#include "hw/peak.h"

namespace tern::hw {

LayerRoofline layer_roofline(const LayerCost& c, CostDType dtype, const Machine& m, const EnergyModel& e) {
    LayerRoofline r;
    r.cost = c;
    const int64_t eb = cost_dtype_bytes(dtype);
    r.weight_bytes = c.params * eb;
    r.activation_bytes = (c.activations_read + c.activations_written) * eb;
    const double ops = 2.0 * static_cast<double>(c.macs) + static_cast<double>(c.ops);
    const double bytes = static_cast<double>(r.weight_bytes + r.activation_bytes);
    r.intensity = bytes > 0 ? ops / bytes : 0;
    r.compute_s = ops / (m.peak_gops * 1e9);
    r.memory_s = bytes / (m.bandwidth_gbps * 1e9);
    r.bound_s = std::max(r.compute_s, r.memory_s);
    r.memory_bound = r.memory_s > r.compute_s;
    r.compute_pj = static_cast<double>(c.macs) * e.mac_pj(dtype) + static_cast<double>(c.ops) * e.op_pj(dtype);
    // Weights stream from DRAM; a layer's activations stay on chip when they fit.
    const double act_pj_per_byte =
        r.activation_bytes <= e.sram_bytes ? e.sram_pj_per_byte(r.activation_bytes) : e.dram_pj_per_byte();
    r.memory_pj = static_cast<double>(r.weight_bytes) * e.dram_pj_per_byte() +
                  static_cast<double>(r.activation_bytes) * act_pj_per_byte;
    return r;
}

ModelRoofline model_roofline(const std::vector<LayerCost>& layers, CostDType dtype, const Machine& m,
                             const EnergyModel& e) {
    if (!(m.peak_gops > 0) || !std::isfinite(m.peak_gops))
        throw InputError("machine", "compute peak must be a positive number of GOPS");
    if (!(m.bandwidth_gbps > 0) || !std::isfinite(m.bandwidth_gbps))
        throw InputError("machine", "memory bandwidth must be a positive number of GB/s");
    ModelRoofline r;
    r.dtype = dtype;
    r.machine = m;
    LayerRoofline& t = r.total;
    t.cost.name = "total";
    for (const LayerCost& c : layers) {
        r.layers.push_back(layer_roofline(c, dtype, m, e));
        const LayerRoofline& l = r.layers.back();
        t.cost.macs += c.macs, t.cost.ops += c.ops, t.cost.params += c.params;
        t.cost.activations_read += c.activations_read, t.cost.activations_written += c.activations_written;
        t.weight_bytes += l.weight_bytes, t.activation_bytes += l.activation_bytes;
        t.compute_s += l.compute_s, t.memory_s += l.memory_s, t.bound_s += l.bound_s;
        t.compute_pj += l.compute_pj, t.memory_pj += l.memory_pj;
    }
    const double bytes = static_cast<double>(t.weight_bytes + t.activation_bytes);
    t.intensity = bytes > 0 ? (2.0 * static_cast<double>(t.cost.macs) + static_cast<double>(t.cost.ops)) / bytes : 0;
    t.memory_bound = t.memory_s > t.compute_s;
    return r;
}

Machine measured_machine(CostDType dtype, uint64_t probe_bytes) {
    const ComputePeaks p = measure_compute_peaks();
    Machine m;
    // Without an int8 dot product the int8 kernels widen to f32 FMAs.
    m.peak_gops = dtype == CostDType::int8 && p.int8_gops > 0 ? p.int8_gops : p.f32_gflops;
    m.bandwidth_gbps = measure_read_bandwidth(probe_bytes, 3).median_gbps;
    return m;
}

}  // namespace tern::hw
