// vision/calibration_set: --calib forms for graph PTQ (fashion-mnist:train,
// images:DIR, npy:FILE), pictures resized and normalised as asked, and one
// clear error for each bad set.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/png.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "vision/calibration_set.h"

namespace tern {
namespace {

using CalibSetKind = vision::GraphCalibSource::Kind;

// A w x h picture whose red channel is `red` everywhere, green 0, blue 255.
void calibset_write_picture(const std::string& path, int w, int h, int red) {
    PlotCanvas c(w, h, (static_cast<uint32_t>(red) << 16) | 0x0000ff);
    write_png(path, c);
}

template <class Fn>
std::string calibset_error(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

TEST(CalibrationSet, ParsesTheThreeFormsAndTheirCounts) {
    const auto f = vision::parse_graph_calib("fashion-mnist:train:64");
    EXPECT_EQ(f.kind, CalibSetKind::fashion_mnist);
    EXPECT_EQ(f.path, "train");
    EXPECT_EQ(f.count, 64);
    EXPECT_EQ(vision::parse_graph_calib("fashion-mnist:train").count, 0);
    const auto i = vision::parse_graph_calib("images:/data/lines:50");
    EXPECT_EQ(i.kind, CalibSetKind::images);
    EXPECT_EQ(i.path, "/data/lines");
    EXPECT_EQ(i.count, 50);
    const auto all = vision::parse_graph_calib("images:a:b");  // "b" is not a count: part of the folder
    EXPECT_EQ(all.path, "a:b");
    EXPECT_EQ(all.count, 0);
    const auto n = vision::parse_graph_calib("npy:batch.npy");
    EXPECT_EQ(n.kind, CalibSetKind::npy);
    EXPECT_EQ(n.path, "batch.npy");
    for (const char* bad : {"", "cifar10:train:5", "fashion-mnist", "fashion-mnist:t10k:5", "fashion-mnist:train:x",
                            "images:", "images::4", "npy:", "text:train"})
        EXPECT_THROW(vision::parse_graph_calib(bad), UsageError) << bad;
    EXPECT_NE(calibset_error([] { vision::parse_graph_calib("fashion-mnist:test:5"); }).find("train split"), std::string::npos);
    EXPECT_THROW(vision::parse_graph_calib("images:dir:0"), InputError);
    EXPECT_THROW(vision::parse_graph_calib("fashion-mnist:train:0"), InputError);
}

TEST(CalibrationSet, PicturesAreSortedResizedAndNormalised) {
    testio::TempDir dir;
    calibset_write_picture(dir.file("b.png"), 8, 4, 255);
    calibset_write_picture(dir.file("a.png"), 16, 8, 0);
    std::ofstream(dir.file("notes.txt")) << "not a picture";
    const Tensor t = vision::calibration_pictures(dir.path(), 0, 3, 2, 4, vision::ImageNorm::unit);
    ASSERT_EQ(t.shape(), (Shape{2, 3, 2, 4}));
    const float* p = t.data<float>();
    // a.png first (by name): red 0, green 0, blue 1; then b.png: red 1.
    EXPECT_FLOAT_EQ(p[0], 0.f);
    EXPECT_FLOAT_EQ(p[2 * 8], 1.f);
    EXPECT_FLOAT_EQ(p[24], 1.f);
    // paddle-rec: BGR planes, (v / 255 - 0.5) / 0.5.
    const Tensor r = vision::calibration_pictures(dir.path(), 1, 3, 2, 4, vision::ImageNorm::paddle_rec);
    ASSERT_EQ(r.shape(), (Shape{1, 3, 2, 4}));
    EXPECT_FLOAT_EQ(r.data<float>()[0], 1.f);        // blue 255
    EXPECT_FLOAT_EQ(r.data<float>()[2 * 8], -1.f);   // red 0
}

TEST(CalibrationSet, BadPictureSetsAreOneClearError) {
    testio::TempDir dir;
    const std::string empty = dir.file("empty"), damaged = dir.file("damaged");
    std::filesystem::create_directories(empty);
    std::filesystem::create_directories(damaged);
    std::ofstream(damaged + "/x.png") << "not a png at all";
    calibset_write_picture(dir.file("one.png"), 4, 4, 10);
    const auto unit = vision::ImageNorm::unit;
    EXPECT_NE(calibset_error([&] { vision::calibration_pictures(dir.file("missing"), 0, 3, 4, 4, unit); }).find("not a folder"),
              std::string::npos);
    EXPECT_NE(calibset_error([&] { vision::calibration_pictures(empty, 0, 3, 4, 4, unit); }).find("no .png"), std::string::npos);
    const std::string bad = calibset_error([&] { vision::calibration_pictures(damaged, 0, 3, 4, 4, unit); });
    EXPECT_NE(bad.find("x.png"), std::string::npos) << bad;
    EXPECT_NE(calibset_error([&] { vision::calibration_pictures(dir.path(), 5, 3, 4, 4, unit); }).find("holds 1 pictures; 5 asked"),
              std::string::npos);
    EXPECT_THROW(vision::calibration_pictures(dir.path(), 0, 1, 4, 4, unit), UsageError);
}

TEST(CalibrationSet, NpyBatchesMustBeFloatsOfTheInputsRank) {
    testio::TempDir dir;
    const Tensor f64 = [] {
        Tensor t = Tensor::empty({2, 1, 2, 2}, DType::f64);
        for (int i = 0; i < 8; ++i) t.data<double>()[i] = 0.25 * i;
        return t;
    }();
    write_npy(dir.file("f64.npy"), f64);
    const Tensor got = vision::calibration_npy(dir.file("f64.npy"), 4);
    ASSERT_EQ(got.dtype(), DType::f32);
    EXPECT_FLOAT_EQ(got.data<float>()[7], 1.75f);
    EXPECT_EQ(vision::calibration_npy(dir.file("f64.npy"), -1).shape(), (Shape{2, 1, 2, 2}));
    EXPECT_NE(calibset_error([&] { vision::calibration_npy(dir.file("f64.npy"), 3); }).find("rank 4"), std::string::npos);
    write_npy(dir.file("ints.npy"), Tensor::zeros({2, 3}, DType::i32));
    EXPECT_NE(calibset_error([&] { vision::calibration_npy(dir.file("ints.npy"), 2); }).find("floats"), std::string::npos);
    write_npy(dir.file("empty.npy"), Tensor::zeros({0, 3}, DType::f32));
    EXPECT_NE(calibset_error([&] { vision::calibration_npy(dir.file("empty.npy"), 2); }).find("empty"), std::string::npos);
    std::ofstream(dir.file("junk.npy")) << "junk";
    EXPECT_THROW(vision::calibration_npy(dir.file("junk.npy"), 2), InputError);
    EXPECT_THROW(vision::calibration_npy(dir.file("missing.npy"), 2), Error);
}

}  // namespace
}  // namespace tern
