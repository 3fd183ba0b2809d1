// The ONNX writer on the real models of issue 23: ONNX Runtime runs
// export(import(m)) and gets what it gets from m itself. Needs only tern's
// importer (not its ops' arithmetic), so it checks the writer on graphs far
// larger than the conformance cases; a model tern cannot import yet is skipped,
// naming why.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "ort_reference.h"

namespace tern::testgraph {
namespace {

struct RealModel {
    std::string path;
    Shape input;  // the one image input
};

TEST(OnnxExportLong, OnnxRuntimeRunsTheExportedRealModelsAsTheOriginals) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    const std::string ocr = testref::ocr_models_dir();
    const RealModel models[] = {{ocr + "/ch_ppocr_mobile_v2.0_cls_infer.onnx", {1, 3, 48, 192}},
                                {ocr + "/ch_PP-OCRv4_rec_infer.onnx", {1, 3, 48, 320}},
                                {ocr + "/ch_PP-OCRv4_det_infer.onnx", {1, 3, 320, 320}}};
    int checked = 0;
    for (const auto& m : models) {
        SCOPED_TRACE(m.path);
        graph::Graph g;
        try {
            g = graph::import_onnx_file(m.path);
        } catch (const Error& e) {
            std::cout << "not checked (tern does not import it yet): " << e.what() << "\n";
            continue;
        }
        ASSERT_EQ(g.inputs.size(), 1u);
        testio::TempDir dir;
        const std::string exported = dir.file("exported.onnx");
        graph::export_onnx_file(g, exported);
        std::vector<float> x(static_cast<size_t>(shape_numel(m.input)));
        for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.01f * static_cast<float>(i)) * 0.8f;
        write_npy(dir.file("x.npy"), Tensor::from_floats(m.input, x));
        const auto want = testref::ort_run(m.path, {{g.inputs[0], dir.file("x.npy")}}, dir.file("orig"));
        const auto got = testref::ort_run(exported, {{g.inputs[0], dir.file("x.npy")}}, dir.file("exported"));
        ASSERT_EQ(got.outputs.size(), want.outputs.size());
        for (size_t k = 0; k < want.outputs.size(); ++k) {
            EXPECT_EQ(got.outputs[k].name, want.outputs[k].name);
            const Tensor a = read_npy(got.outputs[k].file), b = read_npy(want.outputs[k].file);
            ASSERT_EQ(a.shape(), b.shape());
            for (int64_t i = 0; i < b.numel(); ++i) {
                const float w = b.data<float>()[i];
                ASSERT_NEAR(a.data<float>()[i], w, 1e-5f * (1.f + std::fabs(w))) << want.outputs[k].name << " element " << i;
            }
        }
        ++checked;
    }
    std::cout << checked << " real models checked\n";
}

}  // namespace
}  // namespace tern::testgraph
