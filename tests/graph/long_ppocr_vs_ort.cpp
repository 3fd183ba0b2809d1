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
    const Agreement a = compare_with_ort(model, det_input(img), dir.path());
    EXPECT_LE(a.max_rel, 2e-4);  // as the quick detector test (test_ppocr_vs_ort.cpp)
}

}  // namespace
}  // namespace tern::testgraph
