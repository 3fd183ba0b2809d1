#pragma once
// Shared by the graph PTQ tests: small fp32 graphs built at test time.
#include <cmath>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tern::testquant {

// x (N, c, h, w) -> Flatten -> Gemm(W (classes, c*h*w), b) -> logits. A NaN
// weight when poisoned. The weights are a fixed pseudo-random pattern.
inline graph::Graph flatten_gemm_graph(int64_t c, int64_t h, int64_t w, bool poisoned = false, int64_t classes = 10) {
    graph::Graph g;
    g.name = "flatten_gemm";
    g.opset = 13;
    g.inputs = {"image"};
    g.outputs = {"logits"};
    g.values["image"] = {Shape{-1, c, h, w}, DType::f32};
    g.values["logits"] = {Shape{-1, classes}, DType::f32};
    const int64_t k = c * h * w;
    std::vector<float> wv(static_cast<size_t>(classes * k)), bv(static_cast<size_t>(classes));
    for (size_t i = 0; i < wv.size(); ++i) wv[i] = 0.05f * std::sin(0.7f * static_cast<float>(i));
    for (size_t i = 0; i < bv.size(); ++i) bv[i] = 0.1f * static_cast<float>(i);
    if (poisoned) wv[3] = NAN;
    g.initializers["W"] = Tensor::from_floats({classes, k}, wv);
    g.initializers["B"] = Tensor::from_floats({classes}, bv);
    graph::Attribute axis, trans;
    axis.i = 1;
    trans.i = 1;
    g.nodes.push_back({"Flatten", "flatten", {"image"}, {"flat"}, {{"axis", axis}}});
    g.nodes.push_back({"Gemm", "fc", {"flat", "W", "B"}, {"logits"}, {{"transB", trans}}});
    return g;
}

// x -> Relu -> y: nothing to quantize.
inline graph::Graph relu_only_graph() {
    graph::Graph g;
    g.name = "relu_only";
    g.opset = 13;
    g.inputs = {"image"};
    g.outputs = {"logits"};
    g.values["image"] = {Shape{-1, 1, 28, 28}, DType::f32};
    g.nodes.push_back({"Relu", "relu", {"image"}, {"logits"}, {}});
    return g;
}

}  // namespace tern::testquant
