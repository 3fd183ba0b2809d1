#pragma once
// Once-for-All's weight-sharing network (Cai et al., ICLR 2020) over an elastic
// MobileNetV2 Space at one width: the space's largest architecture (every
// stage at its largest depth, every block at the largest kernel and
// expansion), whose weights every subnet shares:
//  - elastic depth: a stage of depth d runs the stage's first d blocks;
//  - elastic kernel: a k x k depthwise filter is the centre k x k crop of the
//    7 x 7 one (plain centre crop; the paper's learned 25x25 / 9x9 kernel
//    transformation matrices are not implemented);
//  - elastic expansion: a block of expansion e uses the first in*e hidden
//    channels, which sort_expansion_channels() orders by importance first.
// A subnet is run as an ordinary nn MobileNetV2 that extract() fills with
// copies of the shared slices; training adds its gradients back into the
// shared tensors (accumulate_grads), so a step over several subnets sums their
// gradients, as the paper does.
#include <cstdint>
#include <memory>
#include <string>

#include "nas/arch.h"
#include "nn/models/mobilenetv2.h"

namespace tern::nas {

// Every stage at its largest depth, every block at the largest kernel and expansion, at `width`.
Arch largest_arch(const Space& s, double width);

class OfaSupernet {
public:
    // A fresh supernet (the largest architecture, initialised from `seed`).
    OfaSupernet(const Space& s, double width, int64_t in_channels, int64_t num_classes, uint64_t seed);
    // Wraps trained weights: `full` must be the largest architecture of `s` at `width`.
    OfaSupernet(const Space& s, double width, std::shared_ptr<nn::models::MobileNetV2> full);

    const Arch& largest() const { return largest_; }
    double width() const { return largest_.width; }
    nn::models::MobileNetV2& full() { return *full_; }
    const std::shared_ptr<nn::models::MobileNetV2>& full_ptr() const { return full_; }

    // Empty when `a` is a subnet of this supernet, else why not.
    std::string outside(const Arch& a) const;
    // A standalone model of `a` holding copies of the shared weights and
    // batch-norm statistics (in training mode; its gradients are its own).
    std::shared_ptr<nn::models::MobileNetV2> extract(const Arch& a) const;
    // Adds `sub`'s parameter gradients (a model extract(a) made) into the
    // supernet's gradient buffers at the slices extract copied from.
    void accumulate_grads(const nn::models::MobileNetV2& sub, const Arch& a);
    // Writes `sub`'s batch-norm statistics back into the shared slices.
    void store_buffers(const nn::models::MobileNetV2& sub, const Arch& a);
    // Reorders every block's hidden channels by the L1 norm of their
    // projection weights, largest first (expand rows, its batch norm,
    // depthwise filters and their batch norm, projection columns together), so
    // the largest network computes the same function and a smaller expansion
    // keeps the most important channels.
    void sort_expansion_channels();

private:
    void check_subnet(const Arch& a) const;
    // The (supernet module, subnet module) pairs whose tensors correspond.
    template <class F>
    void for_each_pair(const nn::models::MobileNetV2& sub, const Arch& a, F&& f) const;

    Space space_;
    Arch largest_;
    std::shared_ptr<nn::models::MobileNetV2> full_;
};

}  // namespace tern::nas
