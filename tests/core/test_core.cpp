#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <numeric>
#include <utility>
#include <vector>

#include "core/arena.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "io/io_test_util.h"

namespace tern {
namespace {

TEST(DType, BlockGeometry) {
    EXPECT_EQ(dtype_bytes_for(DType::q4_0, 64), 36u);
    EXPECT_DOUBLE_EQ(dtype_bits_per_element(DType::q4_0), 4.5);
    EXPECT_DOUBLE_EQ(dtype_bits_per_element(DType::q4_k), 4.5);
    EXPECT_DOUBLE_EQ(dtype_bits_per_element(DType::q6_k), 6.5625);
    EXPECT_THROW(dtype_bytes_for(DType::q8_0, 33), InputError);
    EXPECT_EQ(dtype_from_name("q5_k"), DType::q5_k);
    EXPECT_FALSE(dtype_from_name("q9_9").has_value());
}

TEST(Tensor, ShapeStridesTransposeClone) {
    std::vector<float> v(6);
    std::iota(v.begin(), v.end(), 0.0f);
    Tensor t = Tensor::from_floats({2, 3}, v);
    EXPECT_EQ(t.numel(), 6);
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data<float>()) % 64, 0u);
    Tensor tt = t.transpose(0, 1);
    EXPECT_FALSE(tt.is_contiguous());
    EXPECT_EQ(tt.shape(), (Shape{3, 2}));
    const auto c = tt.contiguous().to_floats();
    EXPECT_EQ(c, (std::vector<float>{0, 3, 1, 4, 2, 5}));
    EXPECT_THROW(t.reshape({4, 2}), Error);
    EXPECT_EQ(t.reshape({3, 2}).dim(-1), 2);
    EXPECT_THROW(shape_numel({-1, 2}), InputError);
    EXPECT_THROW(shape_numel({int64_t{1} << 40, int64_t{1} << 40}), InputError);
    EXPECT_THROW(Tensor::empty({3, 33}, DType::q8_0), InputError);
}

// Released pages leave the resident set but not the mapping: reads fault them
// back in from the file and see the same bytes (what a loaded model relies on
// after its weights were repacked).
TEST(MappedFile, ReleasedPagesReadBackTheFile) {
    testio::TempDir dir;
    const std::string path = dir.file("pages.bin");
    std::vector<uint8_t> bytes(5 * 4096 + 123);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 31 + 7);
    {
        AtomicFileWriter w(path);
        w.write(bytes.data(), bytes.size());
        w.commit();
    }
    const auto file = MappedFile::open(path);
    const Tensor t = Tensor::view_of_file(file, 100, {static_cast<int64_t>(bytes.size() - 200)}, DType::i8);
    uint64_t before = 0;
    for (size_t i = 0; i < file->size(); ++i) before += file->data()[i];
    t.release_file_pages();
    file->release(file->data(), file->size());
    uint64_t after = 0;
    for (size_t i = 0; i < file->size(); ++i) {
        after += file->data()[i];
        ASSERT_EQ(file->data()[i], bytes[i]) << "byte " << i;
    }
    EXPECT_EQ(before, after);
}

TEST(Arena, AlignsAndResets) {
    Arena a(4096);
    auto* p = a.allocate(10, 64);
    auto* q = a.allocate(100, 256);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 256, 0u);
    auto* big = a.allocate(1 << 20, 64);  // larger than a block
    EXPECT_NE(big, nullptr);
    EXPECT_GE(a.peak_bytes(), (1u << 20) + 110);
    a.reset();
    EXPECT_EQ(a.bytes_in_use(), 0u);
    EXPECT_THROW(a.allocate(8, 3), Error);
}

TEST(ThreadPool, CoversRangeExactlyOnce) {
    ThreadPool pool(4);
    for (int64_t n : {1, 3, 17, 1000, 4097}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        pool.parallel_for(n, 1, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
        });
        for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    }
}

TEST(ThreadPool, EachChunkIsOneFixedSizeClaim) {
    for (int threads : {1, 2, 4})
        for (int64_t size : {0, 1, 2, 7})
            for (int64_t n : {0, 1, 3, 17, 1000}) {
                ThreadPool pool(threads);
                std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
                std::mutex mu;
                std::vector<std::pair<int64_t, int64_t>> chunks;
                pool.parallel_for_each_chunk(n, size, [&](int64_t b, int64_t e) {
                    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
                    std::lock_guard<std::mutex> lock(mu);
                    chunks.emplace_back(b, e);
                });
                for (auto& h : hits) ASSERT_EQ(h.load(), 1);
                // Exactly the chunks [c * size, (c + 1) * size) clipped to n, one call
                // each, however many there are (no cap as in parallel_for).
                const int64_t s = std::max<int64_t>(size, 1);
                std::sort(chunks.begin(), chunks.end());
                ASSERT_EQ(static_cast<int64_t>(chunks.size()), (n + s - 1) / s);
                for (size_t c = 0; c < chunks.size(); ++c) {
                    EXPECT_EQ(chunks[c].first, static_cast<int64_t>(c) * s);
                    EXPECT_EQ(chunks[c].second, std::min(n, static_cast<int64_t>(c + 1) * s));
                }
            }
}

TEST(ThreadPool, GuidedCoversRangeExactlyOnceInShrinkingChunks) {
    for (int threads : {1, 2, 4}) {
        ThreadPool pool(threads);
        for (int64_t grain : {1, 5})
            for (int64_t n : {0, 1, 3, 5, 17, 1000, 4097}) {
                std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
                std::mutex mu;
                std::vector<std::pair<int64_t, int64_t>> chunks;
                pool.parallel_for_guided(n, grain, [&](int64_t b, int64_t e) {
                    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
                    std::lock_guard<std::mutex> lock(mu);
                    chunks.emplace_back(b, e);
                });
                for (auto& h : hits) ASSERT_EQ(h.load(), 1);
                std::sort(chunks.begin(), chunks.end());
                for (size_t c = 0; c < chunks.size(); ++c) {
                    const int64_t size = chunks[c].second - chunks[c].first;
                    // Every chunk but the last holds at least `grain` items, and none is
                    // longer than the one before it (what is left only shrinks).
                    if (c + 1 < chunks.size()) {
                        EXPECT_GE(size, grain);
                    }
                    if (c > 0) {
                        EXPECT_LE(size, chunks[c - 1].second - chunks[c - 1].first);
                    }
                }
                if (threads > 1 && n >= 1000) {
                    EXPECT_GT(chunks.size(), static_cast<size_t>(2 * threads));
                }
            }
    }
}

TEST(ThreadPool, ManyBackToBackRunsAndNesting) {
    ThreadPool pool(3);  // oversubscribed on a 2-core machine: must not spin itself to a crawl
    std::atomic<int64_t> sum{0};
    for (int r = 0; r < 2000; ++r) pool.run([&](int i, int n) { sum += i + 1; });
    EXPECT_EQ(sum.load(), 2000 * 6);
    std::atomic<int> inner{0};
    pool.run([&](int, int) { pool.run([&](int, int n) { inner += 1; }); });
    EXPECT_EQ(inner.load(), 3 * 3);
}

TEST(Cpu, ActiveIsaIsSupported) {
    EXPECT_TRUE(isa_supported(active_isa()));
    EXPECT_TRUE(isa_supported(Isa::scalar));
    EXPECT_GE(cpu_features().physical_cores, 1);
}

}  // namespace
}  // namespace tern
