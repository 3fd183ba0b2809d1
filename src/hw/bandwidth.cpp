#include "hw/bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/stream/stream.h"

namespace tern {

namespace {

constexpr uint64_t kHugePage = uint64_t{2} << 20;
// 32 MiB: larger than the weight matrices decode reads per call, so the pool's
// wake-up is ~1 % of a segment.
constexpr uint64_t kSegment = uint64_t{32} << 20;

}  // namespace

std::string transparent_huge_page_mode() {
    std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string line;
    if (!std::getline(f, line)) return "";
    const size_t b = line.find('['), e = line.find(']');
    return b == std::string::npos || e == std::string::npos || e < b ? "" : line.substr(b + 1, e - b - 1);
}

uint64_t huge_page_bytes_of(const void* p, uint64_t bytes) {
    std::ifstream f("/proc/self/smaps");
    const uint64_t lo = reinterpret_cast<uintptr_t>(p), hi = lo + bytes;
    uint64_t total = 0;
    bool inside = false;
    std::string line;
    while (std::getline(f, line)) {
        unsigned long long a = 0, b = 0;
        char dash = 0;
        std::istringstream head(line);
        // Mapping headers are "start-end perms ...", in hex; field lines are "Name: value kB".
        if (head >> std::hex >> a >> dash >> b && dash == '-') {
            inside = a < hi && b > lo;
            continue;
        }
        if (inside && line.rfind("AnonHugePages:", 0) == 0) total += std::stoull(line.substr(14)) * 1024;
    }
    return std::min(total, bytes);
}

BandwidthProbe::BandwidthProbe(uint64_t bytes) : bytes_((std::max(bytes, kHugePage) + kHugePage - 1) / kHugePage * kHugePage) {
    const int64_t n = static_cast<int64_t>(bytes_ / sizeof(float));
    buf_ = static_cast<float*>(aligned_alloc_bytes(bytes_));  // 2 MiB-aligned, MADV_HUGEPAGE
    // Written after the madvise, so each first touch faults in a whole huge page,
    // and the timing measures reads, not page faults.
    for (int64_t i = 0; i < n; ++i) buf_[i] = static_cast<float>(i & 7);
    huge_bytes_ = huge_page_bytes_of(buf_, bytes_);
}

BandwidthProbe::~BandwidthProbe() { aligned_free_bytes(buf_); }

BandwidthResult BandwidthProbe::measure(int reps) {
    ThreadPool& pool = default_pool();
    const auto& k = stream_kernel();
    BandwidthResult r;
    r.bytes = bytes_;
    r.huge_page_bytes = huge_bytes_;
    r.thp_mode = transparent_huge_page_mode();
    r.threads = pool.size();
    // A pass reads the whole buffer as segments of kSegment bytes, each one
    // pool.run timed on its own, and takes the median segment: the way a GEMV
    // row is timed (median of ~16 MiB calls). One timing over the whole buffer
    // also counted the time a loaded machine's scheduler took the threads away,
    // so the probe read less than the GEMVs it is the denominator of.
    // Within a segment threads claim 2 MiB chunks from a counter, so one that
    // starts late does not leave the other idle at the end.
    const uint64_t segment = std::min(bytes_, kSegment);
    const uint64_t segments = bytes_ / segment, chunks = segment / kHugePage;
    const uint64_t chunk_floats = kHugePage / sizeof(float);
    std::vector<float> partial(static_cast<size_t>(pool.size()), 0.0f);
    std::vector<double> seconds(static_cast<size_t>(segments));
    volatile float sink = 0;
    for (int rep = -1; rep < reps; ++rep) {
        for (uint64_t sgm = 0; sgm < segments; ++sgm) {
            const float* base = buf_ + sgm * (segment / sizeof(float));
            std::atomic<uint64_t> next{0};
            const auto t0 = std::chrono::steady_clock::now();
            pool.run([&](int t, int) {
                float s = 0;
                for (uint64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
                    s += k.read_sum(base + c * chunk_floats, static_cast<int64_t>(chunk_floats));
                partial[static_cast<size_t>(t)] = s;
            });
            seconds[sgm] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            for (float p : partial) sink = sink + p;
        }
        std::sort(seconds.begin(), seconds.end());
        if (rep >= 0) r.runs_gbps.push_back(static_cast<double>(segment) / seconds[seconds.size() / 2] / 1e9);
    }
    std::vector<double> sorted = r.runs_gbps;
    std::sort(sorted.begin(), sorted.end());
    if (!sorted.empty()) {
        r.median_gbps = sorted[sorted.size() / 2];
        r.best_gbps = sorted.back();
    }
    return r;
}

BandwidthResult measure_read_bandwidth(uint64_t bytes, int reps) { return BandwidthProbe(bytes).measure(reps); }

}  // namespace tern
