// tern run MODEL --input PICTURE.png|jpg [--image-norm ...] [--image-size WxH]:
// the PP-OCR direction classifier on a rendered word gives what the same
// tensor gives as .npy; bad pictures and options are one line, exit 1 / 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "io/image.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "ort_reference.h"
#include "text_image.h"
#include "vision/image_tensor.h"

namespace tern::testgraph {
namespace {

using testcli::run_tern;

std::string cls_model() { return testref::ocr_models_dir() + "/ch_ppocr_mobile_v2.0_cls_infer.onnx"; }

TEST(GraphImageCli, PictureInputGivesWhatItsTensorGivesAsNpy) {
    TERN_REQUIRE_REFERENCE(imagemagick_reference());
    TERN_REQUIRE_REFERENCE(testref::file_reference(cls_model(), "npm ocr-models: run scripts/setup.sh"));
    testio::TempDir dir;
    const std::string png = dir.file("word.png");
    ASSERT_EQ(std::system(("convert -background white -fill black -font DejaVu-Sans -pointsize 32 label:Hello " + png).c_str()), 0);
    write_npy(dir.file("x.npy"), vision::image_tensor(read_image(png), vision::ImageNorm::paddle_rec, 192, 48));
    const auto from_png = run_tern("run " + cls_model() + " --input " + png + " --image-norm paddle-rec --image-size 192x48 --json");
    const auto from_npy = run_tern("run " + cls_model() + " --input " + dir.file("x.npy") + " --json");
    ASSERT_EQ(from_png.code, 0) << from_png.err;
    ASSERT_EQ(from_npy.code, 0) << from_npy.err;
    const auto a = nlohmann::json::parse(from_png.out)["outputs"][0], b = nlohmann::json::parse(from_npy.out)["outputs"][0];
    EXPECT_EQ(a["shape"], b["shape"]);
    EXPECT_EQ(a["values"], b["values"]);
    EXPECT_GT(a["values"][0].get<double>(), 0.9);  // upright text: class 0 (0 degrees)
}

TEST(GraphImageCli, BadPicturesAndOptionsAreOneLine) {
    TERN_REQUIRE_REFERENCE(testref::file_reference(cls_model(), "npm ocr-models: run scripts/setup.sh"));
    testio::TempDir dir;
    std::ofstream(dir.file("fake.png")) << "not a picture";
    std::ofstream(dir.file("cut.jpg"), std::ios::binary) << std::string("\xff\xd8\xff\xe0\x00\x10JFIF", 10);
    const struct {
        std::string args;
        int code;
        std::string expect;
    } cases[] = {
        {"run " + cls_model() + " --input " + dir.file("fake.png"), 1, "fake.png] is neither a PNG nor a JPEG file"},
        {"run " + cls_model() + " --input " + dir.file("cut.jpg"), 1, "cut.jpg] damaged JPEG"},
        {"run " + cls_model() + " --input " + dir.file("fake.png") + " --image-norm bgr", 2,
         "[--image-norm] 'bgr' is not one of unit, imagenet, paddle-det, paddle-rec"},
        {"run " + cls_model() + " --input " + dir.file("fake.png") + " --image-size 192", 2,
         "[--image-size] '192' is not WIDTHxHEIGHT with each side in 1..65536"},
    };
    for (const auto& c : cases) {
        const auto r = run_tern(c.args);
        EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.err;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

}  // namespace
}  // namespace tern::testgraph
