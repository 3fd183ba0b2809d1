#include "graph/prepared_linear.h"

#include "core/error.h"
#include "graph/linear_plan.h"

namespace tern::graph {

namespace {

bool linear_f32(const std::vector<ValueSlot>& slots, int v) { return v >= 0 && slots[v].dtype == DType::f32; }

}  // namespace

std::optional<PreparedStep> prepare_gemm(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                         const std::vector<ValueSlot>& slots) {
    if (in.size() < 2 || out.size() != 1 || !linear_f32(slots, in[0]) || !linear_f32(slots, in[1]) || !linear_f32(slots, out[0]))
        return std::nullopt;
    const bool has_c = in.size() > 2 && in[2] >= 0 && n.attr_float("beta", 1.f) != 0.f;
    if (has_c && !linear_f32(slots, in[2])) return std::nullopt;
    GemmDims d;
    try {
        d = gemm_dims(n, slots[in[0]].shape, slots[in[1]].shape, has_c ? &slots[in[2]].shape : nullptr);
    } catch (const Error&) {
        return std::nullopt;  // the reference op reports the problem in its own words
    }
    if (slots[out[0]].shape != Shape{d.M, d.N}) return std::nullopt;
    const int a = in[0], b = in[1], c = has_c ? in[2] : -1, y = out[0];
    PreparedStep s;
    s.macs = d.M * d.N * d.K;
    s.run = [d, a, b, c, y](RunFrame& f) { gemm_forward(d, f.in(a), f.in(b), c >= 0 ? f.in(c) : nullptr, f.out(y)); };
    return s;
}

std::optional<PreparedStep> prepare_matmul(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                           const std::vector<ValueSlot>& slots) {
    if (in.size() != 2 || out.size() != 1 || !linear_f32(slots, in[0]) || !linear_f32(slots, in[1]) || !linear_f32(slots, out[0]))
        return std::nullopt;
    MatMulShapes m;
    try {
        m = matmul_dims(n, slots[in[0]].shape, slots[in[1]].shape);
    } catch (const Error&) {
        return std::nullopt;
    }
    if (slots[out[0]].shape != m.result) return std::nullopt;
    const int a = in[0], b = in[1], y = out[0];
    PreparedStep s;
    s.macs = shape_numel(m.batch) * m.M * m.N * m.K;
    s.run = [m, a, b, y](RunFrame& f) { matmul_forward(m, f.in(a), f.in(b), f.out(y)); };
    return s;
}

}  // namespace tern::graph
