// Datasets are checked against what the format and the models say: an IDX
// file with no images, images that are not Fashion-MNIST's 28 x 28, and the
// exact number of bytes trailing a gzip'd IDX file; `tern eval` and `tern
// train` refuse them (exit 1, one line, no model written).
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/cli_runner.h"
#include "core/error.h"
#include "io/idx.h"
#include "io/io_test_util.h"
#include "nn/data/image_dataset.h"

namespace tern {
namespace {

using testcli::run_tern;

int idx_sanity_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

std::string idx_sanity_error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

// Fashion-MNIST-named files (raw IDX under the .gz names: read_idx detects gzip by its magic).
void write_split(const testio::TempDir& dir, const std::string& split, int64_t n, int64_t h, int64_t w) {
    Tensor images = Tensor::zeros({n, h, w}, DType::u8);
    for (int64_t i = 0; i < images.numel(); ++i) images.data<uint8_t>()[i] = static_cast<uint8_t>(i * 37);
    Tensor labels = Tensor::zeros({n}, DType::u8);
    for (int64_t i = 0; i < n; ++i) labels.data<uint8_t>()[i] = static_cast<uint8_t>(i % 10);
    write_idx(dir.file(split + "-images-idx3-ubyte.gz"), images);
    write_idx(dir.file(split + "-labels-idx1-ubyte.gz"), labels);
}

TEST(IdxSanity, GzipTrailingBytesAreCountedNotJustProbed) {
    testio::TempDir dir;
    const std::string raw_path = dir.file("raw.idx");
    write_idx(raw_path, Tensor::zeros({2, 3}, DType::u8));
    std::vector<uint8_t> bytes = testio::read_bytes(raw_path);
    bytes.resize(bytes.size() + 3'900'000, 0xab);  // ~3.9 MB after the 6 declared bytes
    testio::write_bytes(dir.file("t.gz"), testio::gzip_bytes(bytes));
    EXPECT_EQ(idx_sanity_error_of([&] { read_idx(dir.file("t.gz")); }),
              "[" + dir.file("t.gz") + "] 3900000 trailing bytes after the data declared by dims [2, 3]");
    // The raw copy says the same.
    testio::write_bytes(dir.file("t.idx"), bytes);
    EXPECT_EQ(idx_sanity_error_of([&] { read_idx(dir.file("t.idx")); }),
              "[" + dir.file("t.idx") + "] 3900000 trailing bytes after the data declared by dims [2, 3]");
    // One trailing byte is still one.
    bytes.resize(bytes.size() - 3'899'999);
    testio::write_bytes(dir.file("one.gz"), testio::gzip_bytes(bytes));
    EXPECT_NE(idx_sanity_error_of([&] { read_idx(dir.file("one.gz")); }).find("] 1 trailing bytes"), std::string::npos);
}

TEST(IdxSanity, FashionMnistWithNoImagesOrTheWrongSizeIsRefused) {
    testio::TempDir dir;
    write_split(dir, "t10k", 0, 28, 28);
    const std::string images = dir.file("t10k-images-idx3-ubyte.gz");
    EXPECT_EQ(idx_sanity_error_of([&] { data::load_fashion_mnist("t10k", dir.path()); }),
              "[" + images + "] holds no images (dims [0, 28, 28])");
    write_split(dir, "t10k", 7, 14, 56);
    EXPECT_EQ(idx_sanity_error_of([&] { data::load_fashion_mnist("t10k", dir.path()); }),
              "[" + images + "] images are 14 x 56; Fashion-MNIST images are 28 x 28");
    write_split(dir, "t10k", 7, 28, 28);
    EXPECT_EQ(data::load_fashion_mnist("t10k", dir.path()).size(), 7);
}

TEST(IdxSanity, EvalAndTrainRefuseEmptyAndMisshapenData) {
    testio::TempDir dir;
    const std::string model = std::string(TERN_SOURCE_DIR) + "/models/fmnist-mobilenetv2_tiny.safetensors";
    for (const auto& [n, h, w, needle] : {std::tuple<int64_t, int64_t, int64_t, std::string>{0, 28, 28, "holds no images"},
                                          {5, 14, 56, "images are 14 x 56; Fashion-MNIST images are 28 x 28"}}) {
        write_split(dir, "t10k", n, h, w);
        const auto r = run_tern("eval " + model + " --data-dir " + dir.path() + " -t 1");
        EXPECT_EQ(r.code, 1) << r.out << r.err;
        EXPECT_EQ(idx_sanity_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
        EXPECT_EQ(r.out.find("accuracy"), std::string::npos) << r.out;
    }
    // Training on an empty set writes nothing.
    write_split(dir, "t10k", 20, 28, 28);
    write_split(dir, "train", 0, 28, 28);
    const std::string recipe = dir.file("r.json"), out = dir.file("m.safetensors");
    std::ofstream(recipe) << R"({"model": "lenet300", "epochs": 1, "batch_size": 8, "validation": 0,
        "optimizer": {"name": "adamw", "lr": 0.002}, "data_dir": ")" + dir.path() + R"(", "output": ")" + out + R"("})";
    const auto t = run_tern("train " + recipe + " -t 1");
    EXPECT_EQ(t.code, 1) << t.out << t.err;
    EXPECT_EQ(idx_sanity_lines(t.err), 1) << t.err;
    EXPECT_NE(t.err.find("train-images-idx3-ubyte.gz] holds no images"), std::string::npos) << t.err;
    EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace tern
