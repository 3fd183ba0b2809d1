#pragma once
// ops::Pool: 2-D max / average pooling and global average pooling of NCHW
// planes for inference, prepared once for a plane size. Max: padding acts as
// -inf, the first maximum wins and a NaN wins and sticks (PyTorch's rule).
// Average: padded taps count (PyTorch's count_include_pad).
#include <cstdint>

namespace tern::ops {

enum class PoolKind { max, avg, global_avg };

// The mean of n floats (0 for n = 0), summed in double as four interleaved
// partial sums (element i into sum i mod 4), combined as (s0 + s1) + (s2 + s3):
// one fixed order, faster than a single chain, that every global average
// pooling uses (ops::Pool, the graph runtime's reference and planned
// GlobalAveragePool), so they agree bit for bit.
float plane_mean(const float* x, int64_t n);

struct Pool2dParams {
    int64_t kernel_h = 2, kernel_w = 2;
    int64_t stride_h = 2, stride_w = 2;
    int64_t pad_h = 0, pad_w = 0;
};

class Pool {
public:
    // Planes of (H, W). Throws InputError for a kernel or stride < 1, padding
    // outside [0, kernel/2] or a window larger than the padded plane
    // (global_avg ignores p).
    Pool(PoolKind kind, int64_t H, int64_t W, const Pool2dParams& p = {});

    // x: (planes, H, W) -> y: (planes, out_h, out_w); planes = N * C.
    void run(const float* x, float* y, int64_t planes) const;

    int64_t out_h() const { return OH_; }
    int64_t out_w() const { return OW_; }
    PoolKind kind() const { return kind_; }

private:
    PoolKind kind_;
    int64_t H_, W_, OH_, OW_;
    Pool2dParams p_;
};

}  // namespace tern::ops
