// Pad (constant, edge and reflect modes; negative pads crop), any plain
// dtype for constant mode's zeros and float32 for a given constant value.
// ONNX opset >= 11 takes pads (and the value) as inputs, older opsets as attributes.
#include <cstring>

#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

// Where output index `o` of a dim of `len` input elements, padded by `begin`, reads from; -1: the constant.
int64_t source_index(int64_t o, int64_t begin, int64_t len, const std::string& mode) {
    int64_t i = o - begin;
    if (i >= 0 && i < len) return i;
    if (mode == "edge") return i < 0 ? 0 : len - 1;
    if (mode == "reflect") {
        const int64_t period = 2 * (len - 1);
        i %= period;
        if (i < 0) i += period;
        return i < len ? i : period - i;
    }
    return -1;
}

void run_pad(OpContext& c) {
    const Node& n = c.node;
    const Tensor x = c.input(0).contiguous();
    const int64_t r = x.rank();
    const std::vector<int64_t> pads = c.opset < 11 ? n.attr_ints("pads", {}) : int_list(n, c.input(1), "pads");
    if (static_cast<int64_t>(pads.size()) != 2 * r) {
        throw n.error(format("pads has %zu values, the input %s needs %lld", pads.size(), shape_to_string(x.shape()).c_str(),
                             static_cast<long long>(2 * r)));
    }
    const std::string mode = n.attr_string("mode", "constant");
    if (mode != "constant" && mode != "edge" && mode != "reflect") throw n.error("mode '" + mode + "' is not one of constant, edge, reflect");
    float value = c.opset < 11 ? n.attr_float("value", 0.f) : 0.f;
    if (c.opset >= 11 && c.has_input(2)) {
        const Tensor v = c.input(2).contiguous();
        require_f32(n, v, "constant_value");
        if (v.numel() != 1) throw n.error("constant_value must hold one value, got " + shape_to_string(v.shape()));
        value = v.data<float>()[0];
    }
    if (value != 0.f) require_f32(n, x, "input");
    Shape out_shape(r);
    for (int64_t d = 0; d < r; ++d) {
        if (pads[d] < -kMaxWindowValue || pads[d] > kMaxWindowValue || pads[d + r] < -kMaxWindowValue || pads[d + r] > kMaxWindowValue) {
            throw n.error("pads must be within +-2^30");
        }
        out_shape[d] = x.dim(static_cast<int>(d)) + pads[d] + pads[d + r];
        if (out_shape[d] < 0) throw n.error("pads crop dim " + std::to_string(d) + " below zero");
        const bool needs_source = mode != "constant" && out_shape[d] > 0;
        if (needs_source && (x.dim(static_cast<int>(d)) == 0 || (mode == "reflect" && x.dim(static_cast<int>(d)) < 2 &&
                                                                 (pads[d] > 0 || pads[d + r] > 0)))) {
            throw n.error("mode '" + mode + "' needs more input elements along dim " + std::to_string(d));
        }
    }
    Tensor y = Tensor::zeros(out_shape, x.dtype());
    const int64_t total = y.numel();
    if (total == 0) {
        c.out[0] = std::move(y);
        return;
    }
    if (dtype_info(x.dtype()).block_size != 1) throw n.error("Pad needs a plain dtype");
    const size_t eb = dtype_info(x.dtype()).block_bytes;
    if (value != 0.f) {
        float* py = y.data<float>();
        for (int64_t i = 0; i < total; ++i) py[i] = value;
    }
    const Shape in_strides = contiguous_strides(x.shape());
    std::vector<int64_t> idx(r, 0);
    for (int64_t o = 0; o < total; ++o) {
        int64_t src = 0;
        bool inside = true;
        for (int64_t d = 0; d < r && inside; ++d) {
            const int64_t s = source_index(idx[d], pads[d], x.dim(static_cast<int>(d)), mode);
            inside = s >= 0;
            src += s * in_strides[d];
        }
        if (inside) std::memcpy(y.raw_data() + o * eb, x.raw_data() + src * eb, eb);
        for (int64_t d = r - 1; d >= 0; --d) {
            if (++idx[d] < out_shape[d]) break;
            idx[d] = 0;
        }
    }
    c.out[0] = std::move(y);
}

}  // namespace

std::vector<OpEntry> pad_ops() { return {{"Pad", run_pad}}; }

}  // namespace tern::graph
