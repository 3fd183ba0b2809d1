#pragma once
// Shared by the conv2d forward (ops/conv2d*.cpp) and nn's autograd backward
// (nn/ops_conv*.cpp): padded copies, tap ranges, batch split. Not a public API.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/conv/conv.h"
#include "ops/conv2d.h"
#include "ops/parallel.h"

namespace tern::ops::detail {

// Output positions [lo, hi) along one axis whose input index i = o*stride + off
// falls inside [0, size): the taps that need no zero padding.
inline void valid_range(int64_t size, int64_t stride, int64_t off, int64_t out, int64_t& lo, int64_t& hi) {
    lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
    hi = size - 1 - off < 0 ? 0 : (size - 1 - off) / stride + 1;
    lo = std::min(lo, out);
    hi = std::clamp(hi, lo, out);
}

// Runs body(part, n_parts, image_begin, image_end) over the batch: one part
// per thread (serial kernels inside) when the batch can feed every thread,
// otherwise a single part whose sgemm calls use the pool. Returns the parts.
inline int image_parts(int64_t N, int64_t work_per_image) {
    const bool big = N * work_per_image >= 16 * kMinParallelWork;
    const int threads = default_pool().size();
    return big && N >= threads ? threads : 1;
}
template <class F>
int for_image_parts(int64_t N, int64_t work_per_image, F&& body) {
    const int parts = image_parts(N, work_per_image);
    if (parts == 1) {
        body(0, 1, int64_t{0}, N);
        return 1;
    }
    default_pool().run([&](int i, int n) { body(i, n, N * i / n, N * (i + 1) / n); });
    return parts;
}

// x_g: (Cg, H, W) -> cols: (Cg*KH*KW, OH*OW); out-of-image taps are zero.
void im2col(const ConvGeom& g, const float* x, float* cols);

// Above this many (input, output) channel pairs im2col + GEMM wins: the GEMM's
// register blocking amortises the copy once every input feeds many outputs.
constexpr int64_t kMaxDirectChannelPairs = 256;
bool conv_direct_applies(const ConvGeom& g);

// The padded copy of one input plane: (Hp, Wp) with the image at (ph, pw).
struct PaddedPlane {
    int64_t Hp, Wp;
    std::vector<float> data;  // (Hp, Wp)

    explicit PaddedPlane(const ConvGeom& g)
        : Hp(g.H + 2 * g.p.pad_h), Wp(g.W + 2 * g.p.pad_w), data(static_cast<size_t>(Hp * Wp), 0.0f) {}

    // Only the interior changes between planes; the zero border stays.
    void load(const ConvGeom& g, const float* x) {
        for (int64_t y = 0; y < g.H; ++y)
            std::memcpy(data.data() + (y + g.p.pad_h) * Wp + g.p.pad_w, x + y * g.W, sizeof(float) * g.W);
    }
    // Row of the padded plane that output row oy reads through tap row ky.
    const float* row(const ConvGeom& g, int64_t oy, int64_t ky) const {
        return data.data() + (oy * g.p.stride_h + ky * g.p.dilation_h) * Wp;
    }
};

// Zero-padded copies of an image's planes: (planes, rows + 2*ph, cols + 2*pw)
// in `data` (owned, or the caller's scratch). The border is zeroed once;
// load() only rewrites the interior.
struct PaddedImage {
    int64_t planes, rows, cols, ph, pw, Hp, Wp;
    std::vector<float> own;
    float* data;

    static int64_t floats(int64_t planes, int64_t rows, int64_t cols, int64_t ph, int64_t pw) {
        return planes * (rows + 2 * ph) * (cols + 2 * pw);
    }
    // Over `buf` (floats(...) floats), or over an owned buffer when buf is null.
    PaddedImage(int64_t planes_, int64_t rows_, int64_t cols_, int64_t ph_, int64_t pw_, float* buf = nullptr)
        : planes(planes_), rows(rows_), cols(cols_), ph(ph_), pw(pw_), Hp(rows_ + 2 * ph_), Wp(cols_ + 2 * pw_) {
        const size_t n = static_cast<size_t>(planes * Hp * Wp);
        if (!buf) {
            own.assign(n, 0.0f);
            data = own.data();
        } else {
            data = buf;
            std::fill(data, data + n, 0.0f);
        }
    }

    void load(const float* src) {  // src: (planes, rows, cols)
        for (int64_t p = 0; p < planes; ++p)
            for (int64_t r = 0; r < rows; ++r)
                std::memcpy(data + (p * Hp + r + ph) * Wp + pw, src + (p * rows + r) * cols, sizeof(float) * cols);
    }
};

// 3x3, dilation 1, equal strides of 1 or 2: the depthwise kernels' shape.
inline bool fast3x3(const ConvGeom& g) {
    return g.KH == 3 && g.KW == 3 && g.p.dilation_h == 1 && g.p.dilation_w == 1 && g.p.stride_h == g.p.stride_w &&
           (g.p.stride_h == 1 || g.p.stride_h == 2);
}

inline Dw3x3Geom dw_geom(const ConvGeom& g) {
    return {g.H, g.W, g.p.pad_h, g.p.pad_w, static_cast<int>(g.p.stride_h), g.OH, g.OW};
}

// Any other kernel size with dilation 1 and strides of 1 or 2 (each): the
// general depthwise kernel.
inline bool dw_any_fits(const ConvGeom& g) {
    return g.KW <= kDwMaxKw && g.p.dilation_h == 1 && g.p.dilation_w == 1 && (g.p.stride_h == 1 || g.p.stride_h == 2) &&
           (g.p.stride_w == 1 || g.p.stride_w == 2);
}

inline DwGeom dw_any_geom(const ConvGeom& g) {
    return {g.H, g.W, g.p.pad_h, g.p.pad_w, static_cast<int>(g.p.stride_h), static_cast<int>(g.p.stride_w), g.KH, g.KW, g.OH, g.OW};
}

// The three forward paths (ops/conv2d.cpp, conv2d_direct.cpp,
// conv2d_depthwise.cpp); y is overwritten.
void conv_im2col_forward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y, float* scratch);
void conv_direct_forward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y, float* scratch);
void conv_depthwise_forward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y);

}  // namespace tern::ops::detail
