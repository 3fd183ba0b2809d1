// tern's group-wise storage types int4g128 / int3g128 / int2g128: the codec
// against a naive reference (per 128: range holding 0, step (hi - lo) / levels,
// integer zero point), tensors through tensor_to_f32 / quantize_tensor_rtn,
// GGUF files holding them (tern's private ggml ids), and truncated files.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "formats/format.h"
#include "formats/tensor_codec.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"

namespace tern {
namespace {

struct IntStorage {
    DType dtype;
    int bits;
};
constexpr IntStorage kTypes[] = {{DType::int4g128, 4}, {DType::int3g128, 3}, {DType::int2g128, 2}};

std::vector<float> int_storage_random_floats(int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.1f, 0.7f);  // off-centre: the zero point matters
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = d(rng);
    return v;
}

// The naive reference, in double: per group of 128, lo = min(x, 0), hi = max(x, 0),
// d = (hi - lo) / (2^bits - 1), z = round(-lo / d), x ~ (clamp(round(x / d) + z) - z) * d.
std::vector<double> naive_round_trip(const std::vector<float>& x, int bits) {
    const int levels = (1 << bits) - 1;
    std::vector<double> y(x.size());
    for (size_t g = 0; g < x.size(); g += 128) {
        double lo = 0, hi = 0;
        for (size_t i = g; i < g + 128; ++i) lo = std::min(lo, double(x[i])), hi = std::max(hi, double(x[i]));
        const double d = (hi - lo) / levels;
        const double z = std::nearbyint(-lo / d);
        for (size_t i = g; i < g + 128; ++i)
            y[i] = (std::clamp(std::nearbyint(x[i] / d) + z, 0.0, double(levels)) - z) * d;
    }
    return y;
}

TEST(IntStorage, RoundTripErrorIsWithinHalfAStepAndMatchesTheNaiveReference) {
    const int64_t n = 128 * 64;
    const auto x = int_storage_random_floats(n, 3);
    for (const IntStorage& t : kTypes) {
        const FormatDescriptor& f = *format_for_dtype(t.dtype);
        SCOPED_TRACE(std::string(f.name));
        const std::vector<float> y = round_trip(f, x);
        const std::vector<double> ref = naive_round_trip(x, t.bits);
        const int levels = (1 << t.bits) - 1;
        double err2 = 0, ref_err2 = 0;
        for (int64_t g = 0; g < n; g += 128) {
            double lo = 0, hi = 0;
            for (int64_t i = g; i < g + 128; ++i) lo = std::min(lo, double(x[i])), hi = std::max(hi, double(x[i]));
            const double step = (hi - lo) / levels;
            for (int64_t i = g; i < g + 128; ++i) {
                // Half a step, plus what the fp16 scale and the integer zero point may move the grid.
                ASSERT_LE(std::fabs(y[i] - x[i]), 0.5 * step * (1 + 2e-3) + 0.5 * step * 1e-3 * levels)
                    << "element " << i;
                err2 += (y[i] - x[i]) * (y[i] - x[i]);
                ref_err2 += (ref[i] - x[i]) * (ref[i] - x[i]);
            }
        }
        // The fp16 scale costs at most a little against the exact-scale reference.
        EXPECT_LE(std::sqrt(err2), std::sqrt(ref_err2) * 1.02) << "rms vs naive";
        EXPECT_GT(std::sqrt(err2), 0.0);
    }
}

TEST(IntStorage, ZeroIsExactAndConstantGroupsSurvive) {
    std::vector<float> x(256, 0.0f);
    for (int i = 128; i < 256; ++i) x[i] = 0.25f;
    x[5] = -1.0f;
    for (const IntStorage& t : kTypes) {
        const std::vector<float> y = round_trip(*format_for_dtype(t.dtype), x);
        EXPECT_EQ(y[0], 0.0f) << dtype_name(t.dtype);
        EXPECT_NEAR(y[5], -1.0f, 1e-3) << dtype_name(t.dtype);  // levels * fp16(1 / levels)
        EXPECT_NEAR(y[200], 0.25f, 1e-3) << dtype_name(t.dtype);
    }
}

TEST(IntStorage, TensorsEncodeAndDecodeThroughTheCodecLayer) {
    const auto x = int_storage_random_floats(8 * 384, 5);
    const Tensor src = Tensor::from_floats({8, 384}, x);
    for (const IntStorage& t : kTypes) {
        const FormatDescriptor& f = *format_for_dtype(t.dtype);
        const Tensor q = quantize_tensor_rtn(src, f, "w");
        EXPECT_EQ(q.dtype(), t.dtype);
        EXPECT_EQ(q.nbytes(), 8u * 3u * dtype_info(t.dtype).block_bytes);
        const std::vector<float> y = tensor_to_f32(q, "w");
        const std::vector<float> want = round_trip(f, x);
        EXPECT_EQ(y, want) << f.name;
    }
    // A row that is not a whole number of groups is refused, naming the tensor.
    const Tensor odd = Tensor::from_floats({2, 200}, int_storage_random_floats(400, 6));
    try {
        quantize_tensor_rtn(odd, *format_for_dtype(DType::int4g128), "blk.0.odd.weight");
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("blk.0.odd.weight"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("128"), std::string::npos) << e.what();
    }
}

TEST(IntStorage, GgufFilesHoldThemAndTruncatedFilesAreRefused) {
    testio::TempDir dir;
    const Tensor src = Tensor::from_floats({4, 256}, int_storage_random_floats(4 * 256, 9));
    for (const IntStorage& t : kTypes) {
        const Tensor q = quantize_tensor_rtn(src, *format_for_dtype(t.dtype), "w");
        const std::string path = dir.file(std::string(dtype_name(t.dtype)) + ".gguf");
        io::write_gguf(path, {{"general.architecture", io::GgufValue::of_string("none")}}, {{"w", q}});
        const io::GgufModel back = io::read_gguf(path);
        ASSERT_EQ(back.tensors.size(), 1u);
        EXPECT_EQ(back.tensors[0].tensor.dtype(), t.dtype);
        EXPECT_EQ(back.tensors[0].tensor.shape(), (Shape{4, 256}));
        ASSERT_EQ(back.tensors[0].tensor.nbytes(), q.nbytes());
        EXPECT_EQ(std::memcmp(back.tensors[0].tensor.data<uint8_t>(), q.data<uint8_t>(), q.nbytes()), 0);

        // Cut inside the tensor data: one InputError naming the file and the tensor.
        auto bytes = testio::read_bytes(path);
        bytes.resize(bytes.size() - dtype_info(t.dtype).block_bytes / 2);
        const std::string cut = dir.file(std::string(dtype_name(t.dtype)) + "-cut.gguf");
        testio::write_bytes(cut, bytes);
        try {
            io::read_gguf(cut);
            FAIL() << "expected InputError for " << cut;
        } catch (const InputError& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find(cut), std::string::npos) << what;
            EXPECT_NE(what.find("'w'"), std::string::npos) << what;
        }
    }
}

}  // namespace
}  // namespace tern
