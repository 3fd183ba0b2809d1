// The PP-OCRv4 detector at PaddleOCR's usual 640x640 on rendered English text,
// tern against ONNX Runtime (the quick test, test_ppocr_vs_ort.cpp, runs 320x160).
#include <gtest/gtest.h>

#include "ppocr_compare.h"
#include "text_image.h"

namespace tern::testgraph {
namespace {

TEST(PpocrVsOrtLong, DetectorAt640MatchesOnnxRuntime) {
    const std::string model = testref::ocr_models_dir() + "/ch_PP-OCRv4_det_infer.onnx";
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    TERN_REQUIRE_REFERENCE(imagemagick_reference());
    TERN_REQUIRE_REFERENCE(testref::file_reference(model, "npm ocr-models: run scripts/setup.sh"));
    testio::TempDir dir;
    const RgbImage img = render_text(dir.path(), "The quick brown fox\njumps over the lazy dog\n0123456789", 48,
                                     "-gravity center -extent 640x640");
    ASSERT_EQ(img.width, 640);
    ASSERT_EQ(img.height, 640);
    const Tensor x = det_input(img);
    const Agreement a = compare_with_ort(model, x, dir.path());
    // 1.9e-4 relative (4.4e-5 absolute) seen; ORT's optimized run differs from its unoptimized one by
    // 8.3e-4 relative (2.2e-4 absolute) on this image, and from tern by 7.6e-4 (2.0e-4).
    EXPECT_LE(a.max_rel, 3e-4);
    const Agreement opt = compare_with_ort(model, x, dir.path(), true);
    EXPECT_LE(opt.max_rel, 1.5e-3);
}

}  // namespace
}  // namespace tern::testgraph
