// Calibration sets (quant/calibration_data.h) and `tern calibrate` end to end:
// statistics named by the weight they belong to, in GGUF or safetensors; bad
// specs and options are usage errors (exit 2) that leave nothing behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_runner.h"
#include "core/error.h"
#include "io/gguf_reader.h"
#include "io/idx.h"
#include "io/io_test_util.h"
#include "io/safetensors.h"
#include "llm/text_tokenizer.h"
#include "quant/calibration_data.h"

namespace tern {
namespace {

std::string calibrate_cli_tinylm_path() { return std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf"; }

// A few kilobytes of plain English (the tokenizer was trained on such text).
std::string calibrate_cli_write_text(const testio::TempDir& dir) {
    std::string text;
    for (int i = 0; i < 60; ++i)
        text += "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
                "foolishness. The people of the union " + std::to_string(i) + " met in the house.\n";
    const std::string path = dir.file("calib.txt");
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

TEST(CalibrationData, ParsesTheSpecs) {
    using K = quant::CalibSpec::Kind;
    EXPECT_EQ(quant::parse_calib_spec("text:train").kind, K::text_split);
    EXPECT_EQ(quant::parse_calib_spec("text:test").split, "test");
    const auto f = quant::parse_calib_spec("text:/tmp/a.txt");
    EXPECT_EQ(f.kind, K::text_file);
    EXPECT_EQ(f.path, "/tmp/a.txt");
    const auto img = quant::parse_calib_spec("fashion-mnist:train:128");
    EXPECT_EQ(img.kind, K::fashion_mnist);
    EXPECT_EQ(img.split, "train");
    EXPECT_EQ(img.images, 128);
    for (const char* bad : {"", "text", "text:", "wikitext:train", "fashion-mnist:train", "fashion-mnist:val:5",
                            "fashion-mnist:train:0", "fashion-mnist:train:-3", "fashion-mnist:train:12x"})
        EXPECT_THROW(quant::parse_calib_spec(bad), UsageError) << bad;
}

TEST(CalibrationData, WindowsStartWithBosAndHoldExactlyTheTokens) {
    std::vector<int32_t> text(300);
    for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<int32_t>(i);
    const auto tw = quant::cut_token_windows(text, 999, 150, 64, "t");
    ASSERT_EQ(tw.windows.size(), 3u);
    EXPECT_EQ(tw.n_tokens, 150);
    EXPECT_EQ(tw.windows[0].size(), 64u);
    EXPECT_EQ(tw.windows[2].size(), 22u);
    EXPECT_EQ(tw.windows[0][0], 999);
    EXPECT_EQ(tw.windows[0][1], 0);
    EXPECT_EQ(tw.windows[1][0], 999);
    EXPECT_EQ(tw.windows[1][1], 63) << "text continues where the last window stopped";
    const auto no_bos = quant::cut_token_windows(text, -1, 128, 64, "t");
    EXPECT_EQ(no_bos.windows[1][0], 64);
    EXPECT_THROW(quant::cut_token_windows(text, 999, 400, 64, "t"), InputError);
    EXPECT_THROW(quant::cut_token_windows(text, 999, 100, 1, "t"), UsageError);
}

TEST(CalibrationData, TextFileIsTokenizedWithTheModelsTokenizer) {
    testio::TempDir dir;
    const std::string path = calibrate_cli_write_text(dir);
    const auto tok = llm::load_text_tokenizer(calibrate_cli_tinylm_path());
    ASSERT_TRUE(tok);
    const auto spec = quant::parse_calib_spec("text:" + path);
    const auto tw = quant::calibration_token_windows(spec, *tok, 4095, 128, 64);
    ASSERT_EQ(tw.windows.size(), 2u);
    std::ifstream in(path);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    const std::vector<int32_t> all = tok->encode(text, false);
    // Window 1 continues the text: tokens 63.. of the whole file's encoding.
    EXPECT_TRUE(std::equal(tw.windows[1].begin() + 1, tw.windows[1].end(), all.begin() + 63));
    EXPECT_THROW(quant::calibration_token_windows(spec, *tok, 4095, 1 << 20, 64), InputError);
    EXPECT_THROW(quant::calibration_token_windows(quant::parse_calib_spec("text:" + dir.file("none.txt")), *tok, 4095, 64, 64),
                 IoError);
}

// A made-up Fashion-MNIST folder (IDX files; the reader takes them ungzipped too).
TEST(CalibrationData, FashionMnistReaderTakesTheFirstNImages) {
    testio::TempDir dir;
    Tensor images = Tensor::empty({5, 28, 28}, DType::u8);
    for (int64_t i = 0; i < images.numel(); ++i) images.data<uint8_t>()[i] = static_cast<uint8_t>(i % 251);
    Tensor labels = Tensor::empty({5}, DType::u8);
    for (int i = 0; i < 5; ++i) labels.data<uint8_t>()[i] = static_cast<uint8_t>(i);
    write_idx(dir.file("t10k-images-idx3-ubyte.gz"), images);
    write_idx(dir.file("t10k-labels-idx1-ubyte.gz"), labels);
    const auto ds = quant::calibration_images(quant::parse_calib_spec("fashion-mnist:t10k:3"), dir.path());
    ASSERT_EQ(ds.size(), 3);
    EXPECT_EQ(ds.images.shape(), (Shape{3, 1, 28, 28}));
    EXPECT_EQ(ds.labels, (std::vector<int32_t>{0, 1, 2}));
    const float px = ds.image(2)[5];  // raw (2 * 784 + 5) % 251, normalised
    EXPECT_NEAR(px, ((2 * 784 + 5) % 251 / 255.0f - 0.2860f) / 0.3530f, 1e-5f);
    EXPECT_THROW(quant::calibration_images(quant::parse_calib_spec("fashion-mnist:t10k:6"), dir.path()), UsageError);
    EXPECT_THROW(quant::calibration_images(quant::parse_calib_spec("text:train"), dir.path()), UsageError);
}

TEST(CalibrateCli, WritesStatisticsNamedByWeight) {
    testio::TempDir dir;
    const std::string text = calibrate_cli_write_text(dir);
    const std::string out = dir.file("stats.gguf");
    const auto r = testcli::run_tern("calibrate " + calibrate_cli_tinylm_path() + " --calib text:" + text +
                                     " --calib-tokens 128 --calib-ctx 64 -o " + out +
                                     " --stats absmax,meansq,hessian --json -t 2");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("\"windows\": 2"), std::string::npos) << r.out;
    const io::GgufModel g = io::read_gguf(out);
    // 4 layers x 7 Linears + the head, 4 tensors each.
    EXPECT_EQ(g.tensors.size(), size_t{(4 * 7 + 1) * 4});
    auto get = [&](const std::string& name) -> const Tensor* {
        for (const auto& t : g.tensors)
            if (t.name == name) return &t.tensor;
        ADD_FAILURE() << "no tensor " << name;
        return nullptr;
    };
    const Tensor* count = get("blk.0.attn_q.in_count");
    ASSERT_TRUE(count);
    EXPECT_EQ(count->dtype(), DType::i64);
    EXPECT_EQ(count->data<int64_t>()[0], 128);
    const Tensor* msq = get("blk.0.attn_q.in_meansq");
    ASSERT_TRUE(msq);
    EXPECT_EQ(msq->shape(), (Shape{256}));
    const Tensor* h = get("blk.3.ffn_down.hessian");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->dtype(), DType::f64);
    EXPECT_EQ(h->shape(), (Shape{768, 768}));
    const Tensor* hq = get("blk.1.attn_v.hessian");
    const Tensor* mq = get("blk.1.attn_v.in_meansq");
    ASSERT_TRUE(hq && mq);
    for (int64_t k = 0; k < 256; k += 17)  // the mean Hessian's diagonal is mean x²
        EXPECT_NEAR(hq->data<double>()[k * 256 + k], mq->data<float>()[k], 1e-6 * mq->data<float>()[k] + 1e-12);
    const Tensor* head = get("output.in_absmax");
    ASSERT_TRUE(head);
    EXPECT_EQ(head->shape(), (Shape{256}));

    const std::string st = dir.file("stats.safetensors");
    const auto r2 = testcli::run_tern("calibrate " + calibrate_cli_tinylm_path() + " --calib text:" + text +
                                      " --calib-tokens 100 --calib-ctx 64 -o " + st + " --stats minmax,hist");
    ASSERT_EQ(r2.code, 0) << r2.err;
    EXPECT_NE(r2.out.find("ffn_down"), std::string::npos) << r2.out;
    const io::SafetensorsModel sm = io::read_safetensors(st);
    bool saw_hist = false;
    for (const auto& t : sm.tensors)
        if (t.name == "blk.2.ffn_gate.in_hist") {
            saw_hist = true;
            EXPECT_EQ(t.tensor.shape(), (Shape{256, 34}));
            int64_t total = 0;
            for (int b = 0; b < 34; ++b) total += t.tensor.data<int64_t>()[b];
            EXPECT_EQ(total, 100) << "channel 0 counts every token once";
        }
    EXPECT_TRUE(saw_hist);
}

TEST(CalibrateCli, BadRequestsFailCleanly) {
    testio::TempDir dir;
    const std::string text = calibrate_cli_write_text(dir);
    const std::string out = dir.file("stats.gguf");
    const std::string no_ctx = "calibrate " + calibrate_cli_tinylm_path() + " --calib-tokens 64 -o " + out;
    const std::string base = no_ctx + " --calib-ctx 32";
    struct Case {
        std::string args;
        int code;
        std::string names;
    };
    const Case cases[] = {
        {base + " --calib wikitext:train", 2, "--calib"},
        {base + " --calib fashion-mnist:train:10", 2, "image set"},
        {base + " --calib text:", 2, "--calib"},
        {base + " --calib text:" + text + " --stats absmax,bogus", 2, "bogus"},
        {no_ctx + " --calib text:" + text + " --calib-ctx 1", 2, "calib-ctx"},
        {no_ctx + " --calib text:" + text + " --calib-ctx 4096", 2, "2..256"},
        {"calibrate " + calibrate_cli_tinylm_path() + " --calib text:" + text + " -o " + dir.file("stats.txt"), 2, "stats.txt"},
        {"calibrate " + calibrate_cli_tinylm_path() + " --calib text:" + text + " -o " + calibrate_cli_tinylm_path(), 2, "-o"},
        {base + " --calib text:" + dir.file("missing.txt"), 1, "missing.txt"},
        {"calibrate " + calibrate_cli_tinylm_path() + " --calib text:" + text + " --calib-tokens 100000 --calib-ctx 64 -o " + out, 1,
         "calib.txt"},
    };
    for (const auto& c : cases) {
        const auto r = testcli::run_tern(c.args);
        EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.err;
        EXPECT_NE(r.err.find(c.names), std::string::npos) << c.args << "\n" << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
        EXPECT_FALSE(std::filesystem::exists(out)) << c.args;
    }
}

}  // namespace
}  // namespace tern
