#pragma once
// Runs one real PaddleOCR model on one input in ONNX Runtime and in tern's
// executor and measures how far tern's outputs are from ONNX Runtime's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>

#include "graph/executor.h"
#include "graph/onnx_import.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "ort_reference.h"

namespace tern::testgraph {

struct Agreement {
    double max_abs = 0;        // max |tern - ort|
    double max_rel = 0;        // max |tern - ort| / max(|ort|, kRelFloor): what the tests bound
    double max_rel_tight = 0;  // the same with a floor of 1e-3, reported
    double max_ref = 0;        // max |ort|
    int64_t count = 0;
};

// The outputs are probabilities (softmax, sigmoid): near 0 their relative error is the
// absolute error of the logit, so values below 1e-2 are compared as if 1e-2.
inline constexpr double kRelFloor = 1e-2;

inline Agreement agreement(const Tensor& got, const Tensor& want) {
    Agreement a;
    const Tensor g = got.contiguous(), w = want.contiguous();
    a.count = w.numel();
    for (int64_t i = 0; i < a.count; ++i) {
        const double x = g.data<float>()[i], y = w.data<float>()[i];
        const double d = std::fabs(x - y);
        a.max_abs = std::max(a.max_abs, d);
        a.max_rel = std::max(a.max_rel, std::isfinite(d) ? d / std::max(std::fabs(y), kRelFloor) : INFINITY);
        a.max_rel_tight = std::max(a.max_rel_tight, std::isfinite(d) ? d / std::max(std::fabs(y), 1e-3) : INFINITY);
        a.max_ref = std::max(a.max_ref, std::fabs(y));
    }
    return a;
}

// The model's single output from tern and from ONNX Runtime on `input` (graph input "x"). ORT runs the
// graph as written unless ort_optimize: its optimized graph (BatchNormalization folded into the
// convolutions, fusions) moves the detector's output by 2.2e-4 from its own unoptimized run at 640x640,
// more than tern differs from the unoptimized one (4.4e-5).
inline Agreement compare_with_ort(const std::string& model, const Tensor& input, const std::string& dir, bool ort_optimize = false) {
    write_npy(dir + "/x.npy", input);
    const auto ort = testref::ort_run(model, {{"x", dir + "/x.npy"}}, dir + "/ort", 1, 0, ort_optimize);
    EXPECT_EQ(ort.outputs.size(), 1u);
    if (ort.outputs.size() != 1) return {};
    const Tensor expected = read_npy(ort.outputs[0].file);
    const graph::Graph g = graph::import_onnx_file(model);
    const auto got = graph::Executor(g).run({{"x", input}});
    EXPECT_EQ(got.size(), 1u);
    const Tensor& y = got.begin()->second;
    EXPECT_EQ(y.shape(), expected.shape());
    if (y.shape() != expected.shape()) return {};
    const Agreement a = agreement(y, expected);
    std::cout << model.substr(model.rfind('/') + 1) << (ort_optimize ? " (ORT optimized)" : " (ORT unoptimized)") << " on " << shape_to_string(input.shape()) << " -> "
              << shape_to_string(y.shape()) << ": max abs error " << a.max_abs << ", max rel error " << a.max_rel
              << " (floor 1e-2; " << a.max_rel_tight << " with floor 1e-3; |ort| up to " << a.max_ref << ")\n";
    return a;
}

}  // namespace tern::testgraph
