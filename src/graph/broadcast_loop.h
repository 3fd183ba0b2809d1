#pragma once
// The elementwise loop of numpy-broadcast binary ops: out[i] = f(a[ia], b[ib])
// with the input offsets moved by an odometer over the output index. The
// arithmetic ops (ops_elementwise) and the comparisons and logic ops
// (ops_logic) differ only in f and the element types.
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "graph/op_util.h"

namespace tern::graph {

// a, b contiguous with element types A and B; out allocated with the broadcast shape and type R.
template <class A, class B, class R, class F>
void broadcast_binary(const Tensor& a, const Tensor& b, Tensor& out, F f) {
    const Shape& os = out.shape();
    const A* pa = a.data<A>();
    const B* pb = b.data<B>();
    R* po = out.data<R>();
    const int64_t n = out.numel();
    if (a.shape() == os && b.shape() == os) {
        for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
        return;
    }
    if (n == 0) return;
    const auto sa = broadcast_strides(a.shape(), os);
    const auto sb = broadcast_strides(b.shape(), os);
    const size_t r = os.size();
    std::vector<int64_t> idx(r, 0);
    int64_t ia = 0, ib = 0;
    for (int64_t i = 0; i < n; ++i) {
        po[i] = f(pa[ia], pb[ib]);
        for (size_t d = r; d-- > 0;) {
            ia += sa[d];
            ib += sb[d];
            if (++idx[d] < os[d]) break;
            ia -= sa[d] * os[d];
            ib -= sb[d] * os[d];
            idx[d] = 0;
        }
    }
}

}  // namespace tern::graph
