// The energy model (Horowitz 45 nm figures) and the per-layer roofline.
#include <gtest/gtest.h>

#include "core/error.h"
#include "hw/energy.h"
#include "hw/roofline.h"

namespace tern::hw {
namespace {

TEST(EnergyModel, UsesHorowitzFigures) {
    const EnergyModel e;
    EXPECT_DOUBLE_EQ(e.mac_pj(CostDType::f32), 3.7 + 0.9);  // fp32 mult + fp32 add
    EXPECT_DOUBLE_EQ(e.mac_pj(CostDType::int8), 0.2 + 0.1);  // int8 mult + int32 accumulate
    EXPECT_DOUBLE_EQ(e.op_pj(CostDType::f32), 0.9);
    EXPECT_DOUBLE_EQ(e.dram_pj_per_byte(), 640.0 / 4);
    EXPECT_DOUBLE_EQ(e.sram_pj_per_byte(4096), 5.0 / 4);
    EXPECT_DOUBLE_EQ(e.sram_pj_per_byte(20000), 10.0 / 4);
    EXPECT_DOUBLE_EQ(e.sram_pj_per_byte(1 << 20), 20.0 / 4);
    CostDType d = CostDType::f32;
    EXPECT_TRUE(parse_cost_dtype("int8", d));
    EXPECT_EQ(d, CostDType::int8);
    EXPECT_FALSE(parse_cost_dtype("f16", d));
}

LayerCost conv_like() {
    LayerCost c;
    c.name = "conv";
    c.kind = "Conv";
    c.macs = 1000000;
    c.params = 1000;
    c.activations_read = 100;
    c.activations_written = 100;
    return c;
}

TEST(Roofline, BoundIsTheSlowerOfComputeAndMemory) {
    const Machine m{100, 10};  // 100 GOPS, 10 GB/s
    const LayerRoofline r = layer_roofline(conv_like(), CostDType::f32, m);
    EXPECT_EQ(r.weight_bytes, 4000);
    EXPECT_EQ(r.activation_bytes, 800);
    EXPECT_DOUBLE_EQ(r.intensity, 2e6 / 4800);
    EXPECT_DOUBLE_EQ(r.compute_s, 2e6 / 100e9);
    EXPECT_DOUBLE_EQ(r.memory_s, 4800 / 10e9);
    EXPECT_DOUBLE_EQ(r.bound_s, r.compute_s);
    EXPECT_FALSE(r.memory_bound);
    // Weights from DRAM, the 800 activation bytes from an 8 KB SRAM.
    EXPECT_DOUBLE_EQ(r.compute_pj, 1e6 * 4.6);
    EXPECT_DOUBLE_EQ(r.memory_pj, 4000 * 160.0 + 800 * 1.25);

    LayerCost gemv;  // a matrix-vector product: 2 ops per 4 weight bytes, memory-bound
    gemv.macs = 1 << 20;
    gemv.params = 1 << 20;
    const LayerRoofline g = layer_roofline(gemv, CostDType::f32, m);
    EXPECT_TRUE(g.memory_bound);
    EXPECT_DOUBLE_EQ(g.bound_s, g.memory_s);
}

TEST(Roofline, Int8MovesAQuarterOfTheBytes) {
    const Machine m{100, 10};
    const LayerRoofline f = layer_roofline(conv_like(), CostDType::f32, m);
    const LayerRoofline q = layer_roofline(conv_like(), CostDType::int8, m);
    EXPECT_EQ(4 * q.weight_bytes, f.weight_bytes);
    EXPECT_EQ(4 * q.activation_bytes, f.activation_bytes);
    EXPECT_DOUBLE_EQ(q.intensity, 4 * f.intensity);
    EXPECT_LT(q.compute_pj, f.compute_pj / 10);
}

TEST(Roofline, ModelTotalsAreTheSumsOfTheLayers) {
    LayerCost pool;
    pool.name = "pool";
    pool.ops = 400;
    pool.activations_read = 400;
    pool.activations_written = 100;
    const ModelRoofline r = model_roofline({conv_like(), pool}, CostDType::f32, Machine{100, 10});
    ASSERT_EQ(r.layers.size(), 2u);
    EXPECT_EQ(r.total.cost.macs, 1000000);
    EXPECT_EQ(r.total.cost.ops, 400);
    EXPECT_EQ(r.total.weight_bytes, 4000);
    EXPECT_EQ(r.total.activation_bytes, 800 + 2000);
    EXPECT_DOUBLE_EQ(r.total.bound_s, r.layers[0].bound_s + r.layers[1].bound_s);
    EXPECT_DOUBLE_EQ(r.total.memory_pj, r.layers[0].memory_pj + r.layers[1].memory_pj);
    EXPECT_TRUE(r.layers[1].memory_bound);
}

TEST(Roofline, RefusesAMachineWithoutPeakOrBandwidth) {
    EXPECT_THROW(model_roofline({conv_like()}, CostDType::f32, Machine{0, 10}), InputError);
    EXPECT_THROW(model_roofline({conv_like()}, CostDType::f32, Machine{100, -1}), InputError);
}

}  // namespace
}  // namespace tern::hw
