// PNG and JPEG decoding (io/image.h) on pictures ImageMagick renders at test
// time, checked against the same picture as a plain PPM; damaged files are one
// InputError naming the file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "../graph/text_image.h"
#include "core/error.h"
#include "io/image.h"
#include "io/io_test_util.h"

namespace tern {
namespace {

// The largest per-channel difference between two images of the same size.
int max_difference(const RgbImage& a, const RgbImage& b) {
    int worst = 0;
    for (size_t i = 0; i < a.rgb.size(); ++i) worst = std::max(worst, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
    return worst;
}

std::string convert_to(const std::string& from, const std::string& to) {
    const std::string cmd = "convert " + testref::shell_quote(from) + " -depth 8 " + testref::shell_quote(to);
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return to;
}

std::string image_error_of(const std::string& path) {
    try {
        (void)read_image(path);
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

TEST(ImageRead, PngAndJpegDecodeToTheSamePixelsAsPpm) {
    TERN_REQUIRE_REFERENCE(testgraph::imagemagick_reference());
    testio::TempDir dir;
    // Colour, so a channel swap would show: red text on a light blue ground.
    const std::string cmd = "convert -size 96x40 xc:'#b0d0ff' -fill red -font DejaVu-Sans -pointsize 24 -annotate +4+28 'tern' " +
                            testref::shell_quote(dir.file("a.png"));
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    const RgbImage want = testgraph::read_ppm(convert_to(dir.file("a.png"), dir.file("a.ppm")));
    const RgbImage png = read_image(dir.file("a.png"));
    ASSERT_EQ(png.width, 96);
    ASSERT_EQ(png.height, 40);
    // ImageMagick writes 16-bit PNGs with a gAMA chunk; libpng's 16 -> 8 bit reduction may round the other way.
    EXPECT_LE(max_difference(png, want), 1);
    const RgbImage jpeg_want = testgraph::read_ppm(convert_to(convert_to(dir.file("a.png"), dir.file("a.jpg")), dir.file("j.ppm")));
    const RgbImage jpeg = read_image(dir.file("a.jpg"));
    ASSERT_EQ(jpeg.width, 96);
    EXPECT_LE(max_difference(jpeg, jpeg_want), 2);  // IDCT rounding may differ by a step
    EXPECT_TRUE(is_image_path("x.PNG") && is_image_path("a/b.jpeg") && !is_image_path("x.npy"));
}

TEST(ImageRead, DamagedFilesAreOneErrorNamingTheFile) {
    TERN_REQUIRE_REFERENCE(testgraph::imagemagick_reference());
    testio::TempDir dir;
    ASSERT_EQ(std::system(("convert -size 64x64 xc:white " + testref::shell_quote(dir.file("ok.png"))).c_str()), 0);
    convert_to(dir.file("ok.png"), dir.file("ok.jpg"));
    auto write_prefix = [&](const std::string& from, const std::string& to, size_t n) {
        std::ifstream in(from, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(to, std::ios::binary) << bytes.substr(0, n < bytes.size() ? n : bytes.size() / 2);
        return to;
    };
    const std::string png = write_prefix(dir.file("ok.png"), dir.file("cut.png"), 60);
    const std::string jpg = write_prefix(dir.file("ok.jpg"), dir.file("cut.jpg"), 100);
    std::ofstream(dir.file("text.png")) << "not a picture";
    EXPECT_NE(image_error_of(png).find("cut.png] not a readable PNG: read beyond end of data"), std::string::npos) << image_error_of(png);
    EXPECT_NE(image_error_of(jpg).find("cut.jpg] damaged JPEG: Premature end of JPEG file"), std::string::npos) << image_error_of(jpg);
    EXPECT_NE(image_error_of(dir.file("text.png")).find("is neither a PNG nor a JPEG"), std::string::npos);
}

}  // namespace
}  // namespace tern
