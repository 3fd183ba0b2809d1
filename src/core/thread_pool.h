#pragma once
// A fixed pool of worker threads for data-parallel loops. Decode calls it
// thousands of times per second, so workers spin briefly on an epoch counter
// before sleeping (futex): a wake-up costs about a microsecond when work
// arrives back-to-back. The calling thread takes part, and parts are claimed,
// not assigned: when a worker is slow to wake (another process holds its core)
// the caller runs that part itself instead of waiting a scheduler tick.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace tern {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Runs fn(part, n_parts) once for every part in [0, n_threads) and returns
    // when all have finished. Parts go to whichever thread claims them first
    // (the caller included), so fn must not assume which thread runs a part.
    // Called from inside a task it runs every part on the calling thread.
    template <class F>
    void run(F&& fn) {
        using Fn = std::remove_reference_t<F>;
        run_raw([](void* ctx, int i, int n) { (*static_cast<Fn*>(ctx))(i, n); }, &fn);
    }

    // Splits [0, n) into contiguous chunks of at least `grain` items and calls
    // fn(begin, end) on them in parallel. Chunks are claimed, up to a few per
    // thread: when one core is slowed (another process, a hypervisor) the other
    // threads take over its remaining chunks instead of idling at the barrier.
    template <class F>
    void parallel_for(int64_t n, int64_t grain, F&& fn) {
        if (n <= 0) return;
        grain = std::max<int64_t>(grain, 1);
        const int64_t max_chunks = (n + grain - 1) / grain;
        if (max_chunks <= 1 || n_threads_ == 1) {
            fn(int64_t{0}, n);
            return;
        }
        const int64_t chunks = std::min<int64_t>(max_chunks, int64_t{kChunksPerThread} * n_threads_);
        std::atomic<int64_t> next{0};
        run([&](int, int) {
            for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;) {
                const int64_t begin = n * c / chunks;
                const int64_t end = n * (c + 1) / chunks;
                if (begin < end) fn(begin, end);
            }
        });
    }

    // Calls fn(begin, end) on [c * size, (c + 1) * size) ∩ [0, n) for every c,
    // the chunks claimed one at a time in order; no cap on their number, unlike
    // parallel_for. For equal-cost items where a small chunk also keeps a
    // working set in cache (prefill weight tiles): one thread runs the chunks
    // in order too.
    template <class F>
    void parallel_for_each_chunk(int64_t n, int64_t size, F&& fn) {
        if (n <= 0) return;
        size = std::max<int64_t>(size, 1);
        const int64_t chunks = (n + size - 1) / size;
        if (chunks <= 1 || n_threads_ == 1) {
            for (int64_t c = 0; c < chunks; ++c) fn(c * size, std::min(n, (c + 1) * size));
            return;
        }
        std::atomic<int64_t> next{0};
        run([&](int, int) {
            for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
                fn(c * size, std::min(n, (c + 1) * size));
        });
    }

    // Like parallel_for, but chunks shrink as the range runs out (guided
    // scheduling): each claim takes 1/(2·threads) of what is left, at least
    // `grain`. The first chunks are long contiguous runs (a decode GEMV's weight
    // stream restarts at every chunk), the last ones short, so the threads finish
    // within about `grain` items of each other instead of one fixed chunk.
    template <class F>
    void parallel_for_guided(int64_t n, int64_t grain, F&& fn) {
        if (n <= 0) return;
        grain = std::max<int64_t>(grain, 1);
        if (n <= grain || n_threads_ == 1) {
            fn(int64_t{0}, n);
            return;
        }
        std::atomic<int64_t> next{0};
        const int64_t div = 2 * int64_t{n_threads_};
        run([&](int, int) {
            int64_t begin = next.load(std::memory_order_relaxed);
            while (begin < n) {
                const int64_t size = std::min(n - begin, std::max(grain, (n - begin) / div));
                if (next.compare_exchange_weak(begin, begin + size, std::memory_order_relaxed)) {
                    fn(begin, begin + size);
                    begin = next.load(std::memory_order_relaxed);
                }
            }
        });
    }

private:
    static constexpr int kChunksPerThread = 4;
    using RawFn = void (*)(void*, int, int);
    void run_raw(RawFn fn, void* ctx);
    void worker_loop(int index);
    void run_parts(uint32_t epoch);  // claims and runs parts of `epoch` until none are left

    int n_threads_;
    std::vector<std::thread> workers_;
    std::atomic<uint32_t> epoch_{0};  // futex word: bumped once per task
    std::atomic<int> sleepers_{0};     // workers blocked in futex wait
    // (epoch << 32) | next unclaimed part: a claim only succeeds for the epoch
    // the claimer woke for, so a late worker never runs a newer task it has
    // not synchronised with.
    std::atomic<uint64_t> claim_{0};
    std::atomic<uint32_t> done_{0};  // futex word: parts finished in this epoch
    std::atomic<bool> stop_{false};
    // More threads than logical cores: spinning would steal the core a peer
    // needs, so everyone sleeps in the kernel instead.
    bool oversubscribed_ = false;
    RawFn task_fn_ = nullptr;
    void* task_ctx_ = nullptr;
};

// Threads the default pool uses: set_default_threads(n) if called, else
// TERN_THREADS, else the number of physical cores.
int default_thread_count();
// Replaces the default pool (call before work starts, e.g. from the CLI's -t).
void set_default_threads(int n);
ThreadPool& default_pool();

template <class F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
    default_pool().parallel_for(n, grain, std::forward<F>(fn));
}

}  // namespace tern
