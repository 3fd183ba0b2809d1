#pragma once
// A MobileNetV2-style ONNX model built at test time: a strided 3x3 stem, then
// inverted residual blocks (1x1 expand, depthwise 3x3, 1x1 project, residual
// Add), each conv followed by BatchNormalization and Clip(0, 6) (Relu6), one
// block's activation spelled x * HardSigmoid(x), two Identity nodes on
// the way, a constant subgraph (Mul of two initializers) feeding the head,
// then GlobalAveragePool -> Flatten -> Gemm.
#include <cmath>
#include <string>

#include "onnx_model_builder.h"

namespace tern::testgraph {

inline void add_float_attr(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
}

inline std::vector<float> wave(size_t count, float scale, float phase) {
    std::vector<float> v(count);
    for (size_t i = 0; i < count; ++i) v[i] = scale * std::sin(0.37f * static_cast<float>(i) + phase);
    return v;
}

struct MobileNetBuilder {
    onnx::ModelProto m = model_with_opset(13);
    int serial = 0;

    std::string name(const std::string& base) { return base + std::to_string(serial++); }

    // Conv (+ BN) -> value; act: "relu6", "hswish" or "" (none).
    std::string conv_bn(const std::string& x, int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t group,
                        const std::string& act) {
        const std::string w = name("w"), c = name("conv"), y = name("bn");
        add_initializer(m, w, {cout, cin / group, k, k}, wave(static_cast<size_t>(cout * (cin / group) * k * k), 0.5f / std::sqrt(float(cin / group * k * k)), float(serial)));
        auto* conv = add_node(m, "Conv", c, {x, w}, {c});
        add_ints_attr(conv, "kernel_shape", {k, k});
        add_ints_attr(conv, "strides", {stride, stride});
        add_ints_attr(conv, "pads", {k / 2, k / 2, k / 2, k / 2});
        add_int_attr(conv, "group", group);
        const std::string s = name("s"), b = name("b"), mu = name("mu"), var = name("var");
        add_initializer(m, s, {cout}, wave(cout, 0.3f, 1.f));
        for (float& v : *m.mutable_graph()->mutable_initializer(m.graph().initializer_size() - 1)->mutable_float_data()) v += 1.f;
        add_initializer(m, b, {cout}, wave(cout, 0.2f, 2.f));
        add_initializer(m, mu, {cout}, wave(cout, 0.1f, 3.f));
        add_initializer(m, var, {cout}, wave(cout, 0.2f, 4.f));
        for (float& v : *m.mutable_graph()->mutable_initializer(m.graph().initializer_size() - 1)->mutable_float_data()) v += 0.5f;
        auto* bn = add_node(m, "BatchNormalization", y, {c, s, b, mu, var}, {y});
        add_float_attr(bn, "epsilon", 1e-5f);
        if (act == "relu6") {
            const std::string r = name("relu6");
            add_node(m, "Clip", r, {y, "zero", "six"}, {r});
            return r;
        }
        if (act == "hswish") {
            const std::string h = name("hsig"), r = name("hswish");
            auto* hs = add_node(m, "HardSigmoid", h, {y}, {h});
            add_float_attr(hs, "alpha", 1.f / 6.f);
            add_node(m, "Mul", r, {y, h}, {r});
            return r;
        }
        return y;
    }

    std::string inverted_residual(const std::string& x, int64_t c, int64_t expand, const std::string& act) {
        const std::string e = conv_bn(x, c, c * expand, 1, 1, 1, act);
        const std::string d = conv_bn(e, c * expand, c * expand, 3, 1, c * expand, act);
        const std::string p = conv_bn(d, c * expand, c, 1, 1, 1, "");
        const std::string sum = name("add");
        add_node(m, "Add", sum, {x, p}, {sum});
        return sum;
    }
};

// x (1, 3, size, size) -> logits y (1, 10).
inline onnx::ModelProto mobilenet_style(int blocks = 6, int64_t size = 32, int64_t width = 16) {
    MobileNetBuilder b;
    auto* g = b.m.mutable_graph();
    add_value(g->mutable_input(), "x", {1, 3, size, size});
    add_value(g->mutable_output(), "y", {1, 10});
    add_initializer(b.m, "zero", {}, {0.f});
    add_initializer(b.m, "six", {}, {6.f});
    std::string v = b.conv_bn("x", 3, width, 3, 2, 1, "relu6");
    add_node(b.m, "Identity", "ident", {v}, {"stem_out"});
    v = "stem_out";
    for (int i = 0; i < blocks; ++i) v = b.inverted_residual(v, width, 6, i == 1 ? "hswish" : "relu6");
    add_node(b.m, "Identity", "ident_head", {v}, {"dropped"});
    add_node(b.m, "GlobalAveragePool", "gap", {"dropped"}, {"pooled"});
    add_node(b.m, "Flatten", "flat", {"pooled"}, {"flat"});
    add_initializer(b.m, "fc_w", {10, width}, wave(static_cast<size_t>(10 * width), 0.25f, 0.5f));
    add_initializer(b.m, "fc_half", {10}, wave(10, 0.5f, 1.5f));
    add_initializer(b.m, "two", {}, {2.f});
    add_node(b.m, "Mul", "fc_bias", {"fc_half", "two"}, {"fc_b"});  // constant: folded
    auto* gemm = add_node(b.m, "Gemm", "fc", {"flat", "fc_w", "fc_b"}, {"y"});
    add_int_attr(gemm, "transB", 1);
    return b.m;
}

}  // namespace tern::testgraph
