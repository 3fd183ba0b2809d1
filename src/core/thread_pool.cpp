#include "core/thread_pool.h"

#include <immintrin.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "core/cpu_features.h"
#include "core/error.h"

namespace tern {
namespace {

thread_local bool tls_inside_task = false;

// How long an idle worker spins before sleeping. Long enough to bridge the gap
// between consecutive kernel calls in a decode step, short enough not to burn a
// core when the program is idle.
constexpr auto kSpinTime = std::chrono::microseconds(200);

// Direct futex calls: libstdc++ 12's std::atomic::wait on this platform showed
// wake-up delays near a millisecond, far too slow for per-kernel dispatch.
void futex_wait(std::atomic<uint32_t>* word, uint32_t expected) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
void futex_wake_all(std::atomic<uint32_t>* word) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
    oversubscribed_ = n_threads_ > cpu_features().logical_cores;
    workers_.reserve(static_cast<size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    stop_.store(true, std::memory_order_release);
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(&epoch_);
    for (auto& t : workers_) t.join();
}

void ThreadPool::run_raw(RawFn fn, void* ctx) {
    if (n_threads_ == 1 || tls_inside_task) {
        for (int i = 0; i < n_threads_; ++i) fn(ctx, i, n_threads_);
        return;
    }
    const uint32_t epoch = epoch_.load(std::memory_order_relaxed) + 1;
    task_fn_ = fn;
    task_ctx_ = ctx;
    done_.store(0, std::memory_order_relaxed);
    claim_.store(static_cast<uint64_t>(epoch) << 32, std::memory_order_relaxed);
    epoch_.store(epoch, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) futex_wake_all(&epoch_);

    tls_inside_task = true;
    run_parts(epoch);
    tls_inside_task = false;

    const auto n = static_cast<uint32_t>(n_threads_);
    if (oversubscribed_) {
        for (uint32_t d; (d = done_.load(std::memory_order_acquire)) != n;) futex_wait(&done_, d);
        return;
    }
    while (done_.load(std::memory_order_acquire) != n) _mm_pause();
}

void ThreadPool::run_parts(uint32_t epoch) {
    const auto n = static_cast<uint32_t>(n_threads_);
    uint64_t c = claim_.load(std::memory_order_acquire);
    for (;;) {
        if (static_cast<uint32_t>(c >> 32) != epoch || static_cast<uint32_t>(c) >= n) return;
        if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
        task_fn_(task_ctx_, static_cast<int>(static_cast<uint32_t>(c)), n_threads_);
        if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == n && oversubscribed_) futex_wake_all(&done_);
        c = claim_.load(std::memory_order_acquire);
    }
}

void ThreadPool::worker_loop(int) {
    // Epoch 0 is the constructor's; a task published before this thread got
    // scheduled must still be seen, so do not read the current epoch here.
    uint32_t seen = 0;
    tls_inside_task = true;
    for (;;) {
        // Spin, then sleep until the epoch moves.
        auto spin_until = std::chrono::steady_clock::now() + (oversubscribed_ ? std::chrono::microseconds(0) : kSpinTime);
        uint32_t now_epoch;
        int spins = 0;
        while ((now_epoch = epoch_.load(std::memory_order_acquire)) == seen) {
            _mm_pause();
            if (++spins % 256 == 0) {
                if (std::chrono::steady_clock::now() > spin_until) {
                    // Announce the sleep before re-checking, so a publisher that
                    // bumps the epoch after our check sees us and wakes us.
                    sleepers_.fetch_add(1, std::memory_order_seq_cst);
                    if (epoch_.load(std::memory_order_seq_cst) == seen) futex_wait(&epoch_, seen);
                    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
                } else {
                    std::this_thread::yield();
                }
            }
        }
        seen = now_epoch;
        if (stop_.load(std::memory_order_acquire)) return;
        run_parts(now_epoch);
    }
}

namespace {

std::mutex g_pool_mutex;
std::unique_ptr<ThreadPool> g_pool;
int g_requested_threads = 0;

}  // namespace

int default_thread_count() {
    if (g_requested_threads > 0) return g_requested_threads;
    if (const char* env = std::getenv("TERN_THREADS"); env && *env) {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);
        if (*end != '\0' || n < 1 || n > 1024)
            throw UsageError("TERN_THREADS", std::string("expected a thread count 1..1024, got '") + env + "'");
        return static_cast<int>(n);
    }
    return cpu_features().physical_cores;
}

void set_default_threads(int n) {
    if (n < 1 || n > 1024) throw UsageError("threads", format("expected 1..1024, got %d", n));
    std::lock_guard lock(g_pool_mutex);
    g_requested_threads = n;
    if (g_pool && g_pool->size() != n) g_pool.reset();
}

ThreadPool& default_pool() {
    std::lock_guard lock(g_pool_mutex);
    if (!g_pool) g_pool = std::make_unique<ThreadPool>(default_thread_count());
    return *g_pool;
}

}  // namespace tern
