#include "kernels/gemm_common/gemm_blocking.h"

#include <limits>
#include <new>

#include "core/tensor.h"
#include "kernels/gemm_common/activation.h"

namespace tern::gemm {
namespace {

// Owns one thread's packing buffer; freed when the thread exits.
struct ThreadBuffer {
    void* data = nullptr;
    size_t bytes = 0;
    ~ThreadBuffer() { aligned_free_bytes(data); }
};

}  // namespace

void* thread_workspace(size_t bytes) {
    thread_local ThreadBuffer buf;
    if (bytes > buf.bytes) {
        aligned_free_bytes(buf.data);
        buf.data = nullptr;
        buf.bytes = 0;
        // Round up so a sequence of slightly growing calls reallocates rarely.
        const size_t want = (bytes + (size_t{1} << 16) - 1) & ~((size_t{1} << 16) - 1);
        buf.data = aligned_alloc_bytes(want, 64);
        if (!buf.data) throw std::bad_alloc();
        buf.bytes = want;
    }
    return buf.data;
}

void choose_grid(int64_t m, int64_t n, int mr, int nr, int threads, bool b_packed_per_thread, int* tm, int* tn) {
    const int64_t m_tiles = (m + mr - 1) / mr, n_tiles = (n + nr - 1) / nr;
    double best = std::numeric_limits<double>::max();
    *tm = 1;
    *tn = 1;
    for (int a = 1; a <= threads; ++a) {
        if (threads % a) continue;
        const int b = threads / a;  // a row groups x b column groups
        if (a > m_tiles || b > n_tiles) continue;
        // Work of the largest share in padded micro-tiles, plus a charge for the
        // operand each thread re-packs: A per column group (packing an MR-row panel
        // costs about half a micro-tile's time when A streams from DRAM, so 2048²
        // u8 on 2 threads now splits M rather than packing all of A twice: +3 % in
        // interleaved runs), B per row group: small when B is prepacked, as much as A
        // when every thread packs (or converts) the B blocks of its rows itself.
        // (Unpacked B at M = 128, N = K = 2048 split M and packed all of B on both
        // threads: 1.34x from 1 to 2 threads on the Zen 3 VM.)
        const double share = static_cast<double>((m_tiles + a - 1) / a) * ((n_tiles + b - 1) / b);
        const double b_charge = b_packed_per_thread ? 0.5 : 0.02;
        const double repack =
            0.5 * static_cast<double>(m_tiles) * (b - 1) + b_charge * static_cast<double>(n_tiles) * (a - 1);
        const double cost = share + repack;
        if (cost < best) {
            best = cost;
            *tm = a;
            *tn = b;
        }
    }
}

Rect grid_share(int64_t m, int64_t n, int mr, int nr, int tm, int tn, int index) {
    const int64_t m_tiles = (m + mr - 1) / mr, n_tiles = (n + nr - 1) / nr;
    const int gi = index / tn, gj = index % tn;
    const int64_t ti0 = m_tiles * gi / tm, ti1 = m_tiles * (gi + 1) / tm;
    const int64_t tj0 = n_tiles * gj / tn, tj1 = n_tiles * (gj + 1) / tn;
    return Rect{std::min(m, ti0 * mr), std::min(m, ti1 * mr), std::min(n, tj0 * nr), std::min(n, tj1 * nr)};
}

}  // namespace tern::gemm

namespace tern {

std::string_view activation_name(Activation act) {
    switch (act) {
        case Activation::none: return "none";
        case Activation::relu: return "relu";
        case Activation::gelu_tanh: return "gelu_tanh";
        case Activation::silu: return "silu";
    }
    return "?";
}

}  // namespace tern
