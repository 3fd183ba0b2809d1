// Resize (opset 10, 11-13, 18 without antialias) and Upsample (opset 7-9),
// float32: nearest (round_prefer_floor / round_prefer_ceil / floor / ceil),
// linear and cubic, under the coordinate transforms half_pixel,
// pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn and
// tf_crop_and_resize, planned and run by graph/resize_plan.h.
#include <vector>

#include "graph/op_registry.h"
#include "graph/op_util.h"
#include "graph/resize_plan.h"

namespace tern::graph {

namespace {

void resize(OpContext& c, bool is_upsample) {
    const Node& n = c.node;
    const Tensor x = c.input(0).contiguous();
    require_f32(n, x, "input");
    const ResizePlan p = plan_resize(n, c.opset, is_upsample, x.shape(), c.in);
    Tensor y = Tensor::empty(p.out_shape, DType::f32);
    std::vector<float> scratch(static_cast<size_t>(2 * p.scratch_floats()));
    run_resize_plan(p, x.data<float>(), y.data<float>(), scratch.data());
    c.out[0] = std::move(y);
}

void run_resize(OpContext& c) { resize(c, false); }
void run_upsample(OpContext& c) { resize(c, true); }

}  // namespace

std::vector<OpEntry> resize_ops() { return {{"Resize", run_resize}, {"Upsample", run_upsample}}; }

}  // namespace tern::graph
