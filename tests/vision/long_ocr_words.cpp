// Word accuracy of the OCR example's pipeline (vision::OcrReader: PP-OCRv4
// detector -> boxes -> recognizer -> CTC) on 20 English words rendered as PNGs
// at test time and read back through io/image.
#include <gtest/gtest.h>

#include <iostream>

#include "../graph/ort_reference.h"
#include "../graph/text_image.h"
#include "io/image.h"
#include "io/io_test_util.h"
#include "vision/ocr.h"

namespace tern::vision {
namespace {

TEST(OcrWordsLong, ReadsRenderedEnglishWords) {
    const std::string models = testref::ocr_models_dir();
    TERN_REQUIRE_REFERENCE(testgraph::imagemagick_reference());
    TERN_REQUIRE_REFERENCE(testref::file_reference(models + "/ch_PP-OCRv4_rec_infer.onnx", "npm ocr-models: run scripts/setup.sh"));
    const std::vector<std::string> words = {"apple",  "river",   "window", "garden", "silver", "thunder", "pencil",
                                            "market", "bridge",  "orange", "planet", "coffee", "mirror",  "winter",
                                            "yellow", "journey", "basket", "castle", "forest", "rocket"};
    const OcrReader reader(models + "/ch_PP-OCRv4_det_infer.onnx", models + "/ch_PP-OCRv4_rec_infer.onnx", models + "/ppocr_keys_v1.txt");
    testio::TempDir dir;
    int correct = 0;
    for (size_t i = 0; i < words.size(); ++i) {
        const std::string png = dir.file("w.png");
        const std::string cmd = "convert -background white -fill black -font DejaVu-Sans -pointsize " + std::to_string(28 + 2 * (i % 5)) +
                                " " + testref::shell_quote("label:" + words[i]) + " -bordercolor white -border 20 " + testref::shell_quote(png);
        ASSERT_EQ(std::system(cmd.c_str()), 0);
        const auto lines = reader.read(read_image(png));
        const std::string got = lines.size() == 1 ? lines[0].text : "(" + std::to_string(lines.size()) + " lines)";
        if (got == words[i]) ++correct;
        else std::cout << "misread '" << words[i] << "' as '" << got << "'\n";
    }
    std::cout << "word accuracy " << correct << "/" << words.size() << "\n";
    EXPECT_GE(correct, 18);
}

}  // namespace
}  // namespace tern::vision
