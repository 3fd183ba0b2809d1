// The three real PP-OCR models (direction classifier, PP-OCRv4 recognizer and
// detector) on English text rendered at test time, tern against ONNX Runtime
// within 1e-4 relative (the detector's sigmoid map 2e-4). Kept small (the detector on 160x320) so each test is
// quick; long_ppocr_vs_ort.cpp runs the detector at 640x640.
#include <gtest/gtest.h>

#include "ppocr_compare.h"
#include "text_image.h"

namespace tern::testgraph {
namespace {

constexpr double kMaxRelError = 1e-4;

void require_models_and_tools(const std::string& model) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    TERN_REQUIRE_REFERENCE(imagemagick_reference());
    TERN_REQUIRE_REFERENCE(testref::file_reference(model, "npm ocr-models: run scripts/setup.sh"));
}

TEST(PpocrVsOrt, DirectionClassifierMatchesOnnxRuntime) {
    const std::string model = testref::ocr_models_dir() + "/ch_ppocr_mobile_v2.0_cls_infer.onnx";
    require_models_and_tools(model);
    testio::TempDir dir;
    const RgbImage img = render_text(dir.path(), "Hello World", 32, "-resize 192x48!");
    ASSERT_EQ(img.width, 192);
    ASSERT_EQ(img.height, 48);
    const Agreement a = compare_with_ort(model, rec_input(img), dir.path());
    EXPECT_LE(a.max_rel, kMaxRelError);
}

TEST(PpocrVsOrt, RecognizerMatchesOnnxRuntime) {
    const std::string model = testref::ocr_models_dir() + "/ch_PP-OCRv4_rec_infer.onnx";
    require_models_and_tools(model);
    testio::TempDir dir;
    // Height 48 as the recognizer needs, padded on the right as PaddleOCR pads a line.
    const RgbImage img = render_text(dir.path(), "tern reads", 32, "-resize x48 -extent 192x48");
    ASSERT_EQ(img.height, 48);
    const Agreement a = compare_with_ort(model, rec_input(img), dir.path());
    EXPECT_LE(a.max_rel, kMaxRelError);
}

TEST(PpocrVsOrt, DetectorMatchesOnnxRuntime) {
    const std::string model = testref::ocr_models_dir() + "/ch_PP-OCRv4_det_infer.onnx";
    require_models_and_tools(model);
    testio::TempDir dir;
    // Sides are multiples of 32, as the detector's four downsamplings need.
    const RgbImage img = render_text(dir.path(), "quick brown\nfox jumps", 36, "-gravity center -extent 320x160");
    ASSERT_EQ(img.width, 320);
    ASSERT_EQ(img.height, 160);
    const Agreement a = compare_with_ort(model, det_input(img), dir.path());
    // 1.2e-4 seen: the sigmoid map keeps the logits' error ~60 convolutions deep. ORT's own optimized and
    // unoptimized runs differ by 8e-4 relative (2.2e-4 absolute) on the 640x640 image of the long test.
    EXPECT_LE(a.max_rel, 2 * kMaxRelError);
}

}  // namespace
}  // namespace tern::testgraph
