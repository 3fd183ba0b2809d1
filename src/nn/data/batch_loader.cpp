#include "nn/data/batch_loader.h"

#include <cstring>

#include "core/error.h"
#include "nn/data/rng.h"

namespace tern::data {

BatchLoader::BatchLoader(std::shared_ptr<const ImageDataset> dataset, BatchLoaderConfig cfg)
    : ds_(std::move(dataset)), cfg_(cfg) {
    if (!ds_) throw InputError("batch_loader", "no dataset");
    if (cfg_.batch_size <= 0) throw InputError("batch_loader", format("batch size %lld must be positive",
                                                                      (long long)cfg_.batch_size));
    if (cfg_.prefetch < 1) throw InputError("batch_loader", "prefetch must be at least 1");
    if (cfg_.augment.pad < 0) throw InputError("batch_loader", "augment pad must not be negative");
    if (cfg_.background) worker_ = std::thread([this] { worker_loop(); });
}

BatchLoader borrowed_foreground_loader(const ImageDataset& dataset, int64_t batch_size, uint64_t seed) {
    BatchLoaderConfig c;
    c.batch_size = batch_size;
    c.seed = seed;
    c.background = false;
    return BatchLoader(std::shared_ptr<const ImageDataset>(&dataset, [](const ImageDataset*) {}), c);
}

BatchLoader::~BatchLoader() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

int64_t BatchLoader::batches_per_epoch() const {
    const int64_t n = ds_->size();
    return cfg_.drop_last ? n / cfg_.batch_size : (n + cfg_.batch_size - 1) / cfg_.batch_size;
}

std::vector<int64_t> BatchLoader::epoch_order(int64_t epoch) const {
    std::vector<int64_t> order(static_cast<size_t>(ds_->size()));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    if (cfg_.shuffle) shuffle_with_seed(order, mix_seed(cfg_.seed, static_cast<uint64_t>(epoch), 0x5348'5546ULL));
    return order;
}

Batch BatchLoader::build(const std::vector<int64_t>& order, int64_t epoch, int64_t b) const {
    const int64_t begin = b * cfg_.batch_size;
    const int64_t end = std::min<int64_t>(begin + cfg_.batch_size, static_cast<int64_t>(order.size()));
    const int64_t count = end - begin;
    const ImageDataset& ds = *ds_;
    const int64_t c = ds.channels(), h = ds.height(), w = ds.width(), per = ds.image_numel();

    Batch batch;
    batch.epoch = epoch;
    batch.batch_index = b;
    batch.images = Tensor::empty({count, c, h, w});
    batch.labels.resize(static_cast<size_t>(count));
    batch.indices.assign(order.begin() + begin, order.begin() + end);
    float* dst = batch.images.data<float>();  // (B, C, H, W)
    for (int64_t k = 0; k < count; ++k) {
        const int64_t i = batch.indices[static_cast<size_t>(k)];
        batch.labels[static_cast<size_t>(k)] = ds.labels[static_cast<size_t>(i)];
        if (cfg_.augment.enabled()) {
            const AugmentDraw draw = draw_augment(cfg_.augment, cfg_.seed, epoch, i);
            apply_augment(ds.image(i), dst + k * per, c, h, w, ds.background, draw);
        } else {
            std::memcpy(dst + k * per, ds.image(i), static_cast<size_t>(per) * sizeof(float));
        }
    }
    return batch;
}

Batch BatchLoader::make_batch(int64_t epoch, int64_t b) const {
    if (b < 0 || b >= batches_per_epoch()) {
        throw InputError("batch_loader", format("batch %lld is outside [0, %lld)", (long long)b,
                                                (long long)batches_per_epoch()));
    }
    return build(epoch_order(epoch), epoch, b);
}

void BatchLoader::start_epoch(int64_t epoch, int64_t first_batch) {
    auto order = std::make_shared<const std::vector<int64_t>>(epoch_order(epoch));
    {
        std::lock_guard<std::mutex> lock(mu_);
        ++generation_;
        active_ = true;
        epoch_ = epoch;
        order_ = std::move(order);
        next_to_build_ = first_batch;
        next_to_take_ = first_batch;
        ready_.clear();
        error_ = nullptr;
    }
    cv_.notify_all();
}

bool BatchLoader::next(Batch& out) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!active_) throw InputError("batch_loader", "next() called before start_epoch()");
    if (next_to_take_ >= batches_per_epoch()) return false;
    if (!cfg_.background) {
        const int64_t b = next_to_take_++;
        auto order = order_;
        const int64_t epoch = epoch_;
        lock.unlock();
        out = build(*order, epoch, b);
        return true;
    }
    cv_.wait(lock, [&] { return !ready_.empty() || error_; });
    if (ready_.empty()) std::rethrow_exception(error_);
    out = std::move(ready_.front());
    ready_.pop_front();
    ++next_to_take_;
    lock.unlock();
    cv_.notify_all();  // a slot is free: the worker may prepare the next batch
    return true;
}

void BatchLoader::worker_loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
        cv_.wait(lock, [&] {
            return stop_ || (active_ && !error_ && next_to_build_ < batches_per_epoch() &&
                             static_cast<int>(ready_.size()) < cfg_.prefetch);
        });
        if (stop_) return;
        const uint64_t gen = generation_;
        const int64_t epoch = epoch_;
        const int64_t b = next_to_build_++;
        auto order = order_;  // keeps this epoch's order alive if start_epoch replaces it
        lock.unlock();
        Batch batch;
        std::exception_ptr err;
        try {
            batch = build(*order, epoch, b);
        } catch (...) {
            err = std::current_exception();
        }
        lock.lock();
        if (gen != generation_) continue;  // the epoch was restarted meanwhile: drop it
        if (err) {
            error_ = err;
        } else {
            ready_.push_back(std::move(batch));
        }
        cv_.notify_all();
    }
}

}  // namespace tern::data
