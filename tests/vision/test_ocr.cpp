// The OCR pipeline's steps (vision/ocr.h): CTC decoding and text boxes on
// hand-made tensors, and the whole reader on a rendered two-line picture.
#include <gtest/gtest.h>

#include "../graph/ort_reference.h"
#include "../graph/text_image.h"
#include "io/io_test_util.h"
#include "vision/ocr.h"

namespace tern::vision {
namespace {

TEST(OcrSteps, CtcGreedyMergesRepeatsAndDropsBlanks) {
    const std::vector<std::string> chars{"", "a", "b", " "};
    // Steps' best classes: a a blank a b b space -> "aab ".
    const int best[] = {1, 1, 0, 1, 2, 2, 3};
    std::vector<float> p(7 * 4, 0.f);
    for (int s = 0; s < 7; ++s) p[s * 4 + best[s]] = 0.5f + 0.05f * s;
    float confidence = 0;
    EXPECT_EQ(ctc_greedy_decode(Tensor::from_floats({1, 7, 4}, p), chars, &confidence), "aab ");
    EXPECT_NEAR(confidence, (0.5f + 0.65f + 0.7f + 0.8f) / 4, 1e-6);
    EXPECT_THROW(ctc_greedy_decode(Tensor::from_floats({1, 7, 4}, p), {"", "a"}), InputError);
}

TEST(OcrSteps, TextBoxesFindTwoRegionsAndScaleThemToTheImage) {
    // A 20x40 map with two bright bars; the image is twice the size.
    std::vector<float> m(20 * 40, 0.f);
    for (int x = 4; x < 16; ++x) for (int y = 3; y < 7; ++y) m[y * 40 + x] = 0.9f;
    for (int x = 20; x < 36; ++x) for (int y = 12; y < 16; ++y) m[y * 40 + x] = 0.8f;
    const auto boxes = text_boxes(Tensor::from_floats({1, 1, 20, 40}, m), 80, 40);
    ASSERT_EQ(boxes.size(), 2u);
    EXPECT_LT(boxes[0].y0, boxes[1].y0);  // top line first
    EXPECT_LE(boxes[0].x0, 8);            // grown past the bar's left edge (x 4 -> 8 in the image)
    EXPECT_GE(boxes[0].x1, 32);
    EXPECT_NEAR(boxes[1].score, 0.8f, 1e-5);
}

TEST(OcrReaderTest, ReadsTwoRenderedLines) {
    const std::string models = testref::ocr_models_dir();
    TERN_REQUIRE_REFERENCE(testgraph::imagemagick_reference());
    TERN_REQUIRE_REFERENCE(testref::file_reference(models + "/ch_PP-OCRv4_rec_infer.onnx", "npm ocr-models: run scripts/setup.sh"));
    testio::TempDir dir;
    const RgbImage img = testgraph::render_text(dir.path(), "Hello world\nquick brown fox", 32, "-bordercolor white -border 24");
    const OcrReader reader(models + "/ch_PP-OCRv4_det_infer.onnx", models + "/ch_PP-OCRv4_rec_infer.onnx", models + "/ppocr_keys_v1.txt");
    const auto lines = reader.read(img);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].text, "Hello world");
    EXPECT_EQ(lines[1].text, "quick brown fox");
}

}  // namespace
}  // namespace tern::vision
