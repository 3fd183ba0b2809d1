#pragma once
// Mini-batches over an ImageDataset: a seeded shuffle per epoch, optional
// augmentation, and the next batches prepared on a background thread while
// the caller trains on the current one (double buffering by default).
//
// Batch contents depend only on (seed, epoch, batch index): the permutation
// is a function of (seed, epoch) and each sample's augmentation of
// (seed, epoch, sample index), so timing and prefetch depth never change them.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "nn/data/augment.h"
#include "nn/data/image_dataset.h"

namespace tern::data {

struct Batch {
    Tensor images;                 // (B, C, H, W) f32
    std::vector<int32_t> labels;   // (B)
    std::vector<int64_t> indices;  // (B) rows of the dataset
    int64_t epoch = 0;
    int64_t batch_index = 0;
    int64_t size() const { return static_cast<int64_t>(labels.size()); }
    // The labels as the int64 class targets cross_entropy takes.
    std::vector<int64_t> targets() const { return {labels.begin(), labels.end()}; }
};

struct BatchLoaderConfig {
    int64_t batch_size = 64;
    bool shuffle = true;
    bool drop_last = false;  // drop a final partial batch
    uint64_t seed = 0;
    AugmentConfig augment;
    bool background = true;  // false: build each batch in next() on the caller's thread
    int prefetch = 2;        // batches prepared ahead (2 = double buffering)
};

class BatchLoader {
public:
    BatchLoader(std::shared_ptr<const ImageDataset> dataset, BatchLoaderConfig cfg);
    ~BatchLoader();  // stops and joins the worker, discarding prepared batches
    BatchLoader(const BatchLoader&) = delete;
    BatchLoader& operator=(const BatchLoader&) = delete;

    int64_t batches_per_epoch() const;
    const BatchLoaderConfig& config() const { return cfg_; }

    // Starts (or restarts) iteration over `epoch` at batch `first_batch` (a
    // resumed epoch skips the batches it already trained); prefetching begins now.
    void start_epoch(int64_t epoch, int64_t first_batch = 0);
    // The next batch of the current epoch; false once the epoch is exhausted.
    // Rethrows an exception raised while preparing the batch.
    bool next(Batch& out);

    // The sample order of `epoch` (identity when shuffle is off).
    std::vector<int64_t> epoch_order(int64_t epoch) const;
    // Builds batch `b` of `epoch` directly (no thread); what next() returns.
    Batch make_batch(int64_t epoch, int64_t b) const;

private:
    Batch build(const std::vector<int64_t>& order, int64_t epoch, int64_t b) const;
    void worker_loop();

    std::shared_ptr<const ImageDataset> ds_;
    BatchLoaderConfig cfg_;

    std::mutex mu_;
    std::condition_variable cv_;
    std::thread worker_;
    bool stop_ = false;
    bool active_ = false;       // an epoch has been started
    uint64_t generation_ = 0;   // bumped by start_epoch: stale batches are dropped
    int64_t epoch_ = 0;
    std::shared_ptr<const std::vector<int64_t>> order_;
    int64_t next_to_build_ = 0;
    int64_t next_to_take_ = 0;
    std::deque<Batch> ready_;   // prepared batches, in batch order
    std::exception_ptr error_;
};

// A shuffled loader over a dataset the caller keeps alive while the loader
// lives (borrowed, not copied), each batch built on the caller's thread: the
// step loops of the supernet searches, which interleave several loaders.
BatchLoader borrowed_foreground_loader(const ImageDataset& dataset, int64_t batch_size, uint64_t seed);


}  // namespace tern::data
