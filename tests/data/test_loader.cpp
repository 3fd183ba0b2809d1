// Image datasets, augmentation and the background BatchLoader on the real
// Fashion-MNIST test set (10,000 images).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <string_view>
#include <thread>

#include "core/error.h"
#include "nn/data/augment.h"
#include "nn/data/batch_loader.h"
#include "nn/data/image_dataset.h"
#include "ref/reference.h"

using namespace tern::data;

namespace {

std::shared_ptr<const ImageDataset> fashion_t10k() {
    static std::shared_ptr<const ImageDataset> ds = [] {
        if (!std::filesystem::exists(default_fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz"))
            return std::shared_ptr<const ImageDataset>();
        return std::make_shared<const ImageDataset>(load_fashion_mnist("t10k"));
    }();
    return ds;
}

#define REQUIRE_FASHION()                                                                  \
    auto ds = fashion_t10k();                                                              \
    if (!ds) TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed (run scripts/setup.sh)"

BatchLoaderConfig config(int64_t batch_size, uint64_t seed, int pad = 0, bool flip = false) {
    BatchLoaderConfig c;
    c.batch_size = batch_size;
    c.seed = seed;
    c.augment.pad = pad;
    c.augment.horizontal_flip = flip;
    return c;
}

bool same_batch(const Batch& a, const Batch& b) {
    return a.indices == b.indices && a.labels == b.labels && a.images.shape() == b.images.shape() &&
           std::memcmp(a.images.raw_data(), b.images.raw_data(), a.images.nbytes()) == 0;
}

}  // namespace

TEST(ImageDataset, FashionMnistNormalised) {
    REQUIRE_FASHION();
    ASSERT_EQ(ds->images.shape(), (tern::Shape{10000, 1, 28, 28}));
    EXPECT_EQ(ds->num_classes, 10);
    // Pixel mean of the t10k images is 573469082 / 7.84e6 / 255 = 0.28685; after
    // normalising with the train statistics (0.2860, 0.3530) it is ~0.0024.
    double sum = 0, lo = 1e9, hi = -1e9;
    const float* x = ds->images.data<float>();
    for (int64_t i = 0; i < ds->images.numel(); ++i) {
        sum += x[i];
        lo = std::min<double>(lo, x[i]);
        hi = std::max<double>(hi, x[i]);
    }
    EXPECT_NEAR(sum / ds->images.numel(), (573469082.0 / 7.84e6 / 255.0 - 0.2860) / 0.3530, 1e-4);
    EXPECT_NEAR(lo, -0.2860 / 0.3530, 1e-5);
    EXPECT_NEAR(hi, (1.0 - 0.2860) / 0.3530, 1e-5);
    EXPECT_FLOAT_EQ(ds->background[0], -0.2860f / 0.3530f);
}

TEST(ImageDataset, TrainValidationSplitIsSeededAndDisjoint) {
    REQUIRE_FASHION();
    auto [train, val] = split_train_validation(*ds, 0.1, 42);
    EXPECT_EQ(val.size(), 1000);
    EXPECT_EQ(train.size(), 9000);
    auto [train2, val2] = split_train_validation(*ds, 0.1, 42);
    EXPECT_EQ(val.labels, val2.labels);
    EXPECT_EQ(0, std::memcmp(val.images.raw_data(), val2.images.raw_data(), val.images.nbytes()));
    auto [train3, val3] = split_train_validation(*ds, 0.1, 43);
    EXPECT_NE(0, std::memcmp(val.images.raw_data(), val3.images.raw_data(), val.images.nbytes()));
    // Disjoint and covering: every source image appears exactly once (matched by pixels' hash).
    auto key = [](const ImageDataset& d, int64_t i) {
        return std::hash<std::string_view>()(std::string_view(reinterpret_cast<const char*>(d.image(i)),
                                                              d.image_numel() * sizeof(float)));
    };
    std::multiset<uint64_t> all, parts;
    for (int64_t i = 0; i < ds->size(); ++i) all.insert(key(*ds, i));
    for (int64_t i = 0; i < train.size(); ++i) parts.insert(key(train, i));
    for (int64_t i = 0; i < val.size(); ++i) parts.insert(key(val, i));
    EXPECT_EQ(all, parts);
    EXPECT_THROW(split_train_validation(*ds, 1.5, 0), tern::InputError);
}

TEST(Augment, CropShiftsAndFlipStayInBounds) {
    // A synthetic 2-channel image with distinct values makes every pixel traceable.
    const int64_t c = 2, h = 5, w = 7;
    std::vector<float> src(c * h * w), dst(c * h * w);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i + 1);
    const std::vector<float> bg = {-1.f, -2.f};
    AugmentConfig cfg{.pad = 2, .horizontal_flip = true};
    std::set<std::tuple<int, int, bool>> seen;
    for (int64_t s = 0; s < 2000; ++s) {
        const AugmentDraw d = draw_augment(cfg, 7, 3, s);
        ASSERT_GE(d.shift_y, -2);
        ASSERT_LE(d.shift_y, 2);
        ASSERT_GE(d.shift_x, -2);
        ASSERT_LE(d.shift_x, 2);
        seen.insert({d.shift_y, d.shift_x, d.flip});
        apply_augment(src.data(), dst.data(), c, h, w, bg, d);
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t y = 0; y < h; ++y)
                for (int64_t x = 0; x < w; ++x) {
                    const int64_t cx = d.flip ? w - 1 - x : x;
                    const int64_t sy = y + d.shift_y, sx = cx + d.shift_x;
                    const bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
                    const float want = inside ? src[(ch * h + sy) * w + sx] : bg[ch];
                    ASSERT_EQ(dst[(ch * h + y) * w + x], want);
                }
    }
    EXPECT_EQ(seen.size(), 5u * 5u * 2u);  // every shift and flip combination occurs
    // Same (seed, epoch, sample) -> same draw; a new epoch re-draws.
    int same = 0;
    for (int64_t s = 0; s < 200; ++s) {
        const AugmentDraw a = draw_augment(cfg, 7, 3, s), b = draw_augment(cfg, 7, 3, s), e = draw_augment(cfg, 7, 4, s);
        EXPECT_TRUE(a.shift_x == b.shift_x && a.shift_y == b.shift_y && a.flip == b.flip);
        same += a.shift_x == e.shift_x && a.shift_y == e.shift_y && a.flip == e.flip;
    }
    EXPECT_LT(same, 20);
}

TEST(BatchLoader, EveryIndexOncePerEpochAndShufflesPerEpoch) {
    REQUIRE_FASHION();
    BatchLoader loader(ds, config(128, 1));
    EXPECT_EQ(loader.batches_per_epoch(), 79);  // 78 full + one of 16
    std::vector<std::vector<int64_t>> orders;
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
        loader.start_epoch(epoch);
        std::vector<int64_t> seen;
        Batch b;
        int64_t k = 0;
        while (loader.next(b)) {
            EXPECT_EQ(b.batch_index, k++);
            EXPECT_EQ(b.epoch, epoch);
            EXPECT_EQ(b.size(), k < 79 ? 128 : 16);
            for (int64_t j = 0; j < b.size(); ++j) EXPECT_EQ(b.labels[j], ds->labels[b.indices[j]]);
            seen.insert(seen.end(), b.indices.begin(), b.indices.end());
        }
        EXPECT_FALSE(loader.next(b));  // stays exhausted
        orders.push_back(seen);
        std::sort(seen.begin(), seen.end());
        for (int64_t i = 0; i < ds->size(); ++i) ASSERT_EQ(seen[i], i) << "epoch " << epoch;
    }
    EXPECT_NE(orders[0], orders[1]);
    EXPECT_NE(orders[1], orders[2]);
    EXPECT_EQ(orders[1], loader.epoch_order(1));

    BatchLoaderConfig drop_cfg = config(128, 1);
    drop_cfg.drop_last = true;
    BatchLoader dropping(ds, drop_cfg);
    EXPECT_EQ(dropping.batches_per_epoch(), 78);
}

TEST(BatchLoader, DeterministicRegardlessOfTimingAndThreading) {
    REQUIRE_FASHION();
    const BatchLoaderConfig cfg = config(100, 9, 4, true);
    BatchLoaderConfig sync_cfg = cfg;
    sync_cfg.background = false;
    BatchLoaderConfig deep_cfg = cfg;
    deep_cfg.prefetch = 5;
    BatchLoader bg(ds, cfg), sync(ds, sync_cfg), deep(ds, deep_cfg);
    for (int64_t epoch : {0, 5}) {
        bg.start_epoch(epoch);
        sync.start_epoch(epoch);
        deep.start_epoch(epoch);
        Batch a, b, c;
        int k = 0;
        while (bg.next(a)) {
            ASSERT_TRUE(sync.next(b));
            ASSERT_TRUE(deep.next(c));
            EXPECT_TRUE(same_batch(a, b)) << "epoch " << epoch << " batch " << k;
            EXPECT_TRUE(same_batch(a, c)) << "epoch " << epoch << " batch " << k;
            // A slow consumer now and then: the worker runs ahead and waits.
            if (k++ % 17 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        EXPECT_FALSE(sync.next(b));
    }
    // Augmentation changes pixels but never labels; the same sample is augmented the same way in any batch.
    const Batch x = bg.make_batch(5, 3);
    BatchLoader plain(ds, config(100, 9));
    const Batch y = plain.make_batch(5, 3);
    EXPECT_EQ(x.indices, y.indices);
    EXPECT_NE(0, std::memcmp(x.images.raw_data(), y.images.raw_data(), x.images.nbytes()));
}

TEST(BatchLoader, RestartMidEpochAndCleanShutdown) {
    REQUIRE_FASHION();
    for (int rep = 0; rep < 20; ++rep) {
        // Destroyed with the worker mid-batch and with batches waiting.
        BatchLoader loader(ds, config(500, 3, 4));
        loader.start_epoch(0);
        Batch b;
        ASSERT_TRUE(loader.next(b));
        loader.start_epoch(1);  // restart: stale epoch-0 batches must never appear
        ASSERT_TRUE(loader.next(b));
        EXPECT_EQ(b.epoch, 1);
        EXPECT_EQ(b.batch_index, 0);
        EXPECT_TRUE(same_batch(b, loader.make_batch(1, 0)));
    }
    BatchLoader never_started(ds, config(8, 0));
    Batch b;
    EXPECT_THROW(never_started.next(b), tern::InputError);
    EXPECT_THROW(BatchLoader(ds, config(0, 0)), tern::InputError);
}
