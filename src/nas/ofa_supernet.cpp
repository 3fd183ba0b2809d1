#include "nas/ofa_supernet.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "nas/build.h"

namespace tern::nas {
namespace {

using nn::models::InvertedResidual;
using nn::models::MobileNetV2;

// Where a subnet tensor sits inside the shared one: leading slices of every
// dim, except the spatial dims of 4-D weights (the depthwise kernels), which
// are the centre crop. Shapes are padded to rank 4 with trailing 1s.
struct Region {
    int64_t full[4] = {1, 1, 1, 1}, sub[4] = {1, 1, 1, 1}, offset[4] = {0, 0, 0, 0};
};

Region region_of(const Shape& full, const Shape& sub, const std::string& name) {
    if (full.size() != sub.size() || full.size() > 4) throw Error("ofa", "tensor '" + name + "': ranks of supernet and subnet differ");
    Region r;
    for (size_t d = 0; d < full.size(); ++d) {
        r.full[d] = full[d];
        r.sub[d] = sub[d];
        if (sub[d] > full[d]) throw Error("ofa", "tensor '" + name + "': the subnet's is larger than the supernet's");
        if (full.size() == 4 && d >= 2) {
            if ((full[d] - sub[d]) % 2 != 0) throw Error("ofa", "tensor '" + name + "': kernel sizes differ by an odd amount");
            r.offset[d] = (full[d] - sub[d]) / 2;
        }
    }
    return r;
}

// Calls f(full_index, sub_index) for every element of the subnet tensor.
template <class F>
void for_region(const Region& r, F&& f) {
    int64_t s = 0;
    for (int64_t a = 0; a < r.sub[0]; ++a)
        for (int64_t b = 0; b < r.sub[1]; ++b)
            for (int64_t c = 0; c < r.sub[2]; ++c)
                for (int64_t d = 0; d < r.sub[3]; ++d, ++s) {
                    const int64_t fi =
                        (((a + r.offset[0]) * r.full[1] + b + r.offset[1]) * r.full[2] + c + r.offset[2]) * r.full[3] + d + r.offset[3];
                    f(fi, s);
                }
}

// Reorders `t` along dim 0 or dim 1 by `perm` (new position i holds old perm[i]).
void permute_dim(Tensor& t, const std::vector<int64_t>& perm, int dim) {
    const Shape& sh = t.shape();
    const auto n = static_cast<int64_t>(perm.size());
    if (sh.at(static_cast<size_t>(dim)) != n) throw Error("ofa", "channel permutation does not fit a tensor");
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; ++d) outer *= sh[static_cast<size_t>(d)];
    for (size_t d = static_cast<size_t>(dim) + 1; d < sh.size(); ++d) inner *= sh[d];
    float* p = t.data<float>();
    std::vector<float> old(p, p + t.numel());
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < n; ++i)
            std::memcpy(p + (o * n + i) * inner, old.data() + (o * n + perm[static_cast<size_t>(i)]) * inner,
                        static_cast<size_t>(inner) * sizeof(float));
}

void permute_module(nn::Module& m, const std::vector<int64_t>& perm, int dim) {
    for (auto& [name, v] : m.named_parameters()) permute_dim(v.value(), perm, dim);
    for (auto& [name, t] : m.named_buffers()) permute_dim(t, perm, dim);
}

}  // namespace

Arch largest_arch(const Space& s, double width) {
    Arch a;
    a.stem = s.stem;
    a.head = s.head;
    a.width = width;
    const BlockArch b{*std::max_element(s.kernels.begin(), s.kernels.end()), *std::max_element(s.expansions.begin(), s.expansions.end())};
    for (const StageSpace& st : s.stages)
        a.stages.push_back({st.channels, st.stride, std::vector<BlockArch>(static_cast<size_t>(*std::max_element(st.depths.begin(), st.depths.end())), b)});
    return a;
}

OfaSupernet::OfaSupernet(const Space& s, double width, int64_t in_channels, int64_t num_classes, uint64_t seed)
    : OfaSupernet(s, width, build_model(largest_arch(s, width), seed, in_channels, num_classes)) {}

OfaSupernet::OfaSupernet(const Space& s, double width, std::shared_ptr<MobileNetV2> full)
    : space_(s), largest_(largest_arch(s, width)), full_(std::move(full)) {
    if (!full_) throw Error("ofa", "no supernet model");
    size_t blocks = 0;
    for (const StageArch& st : largest_.stages) blocks += st.blocks.size();
    if (full_->blocks->size() != blocks) throw InputError("supernet", "the model is not the search space's largest architecture");
}

std::string OfaSupernet::outside(const Arch& a) const {
    if (a.width != largest_.width) return format("width %g differs from the supernet's %g", a.width, largest_.width);
    if (a.stem != largest_.stem || a.head != largest_.head || a.stages.size() != largest_.stages.size())
        return "stem, head or stage count differs from the supernet's";
    for (size_t i = 0; i < a.stages.size(); ++i) {
        const StageArch &s = a.stages[i], &f = largest_.stages[i];
        if (s.channels != f.channels || s.stride != f.stride) return format("stage %zu: channels or stride differ", i);
        if (s.blocks.empty() || s.blocks.size() > f.blocks.size()) return format("stage %zu: depth %zu out of 1..%zu", i, s.blocks.size(), f.blocks.size());
        for (const BlockArch& b : s.blocks) {
            if (b.kernel > f.blocks[0].kernel || b.kernel % 2 == 0) return format("stage %zu: kernel %lld does not crop from %lld", i, (long long)b.kernel, (long long)f.blocks[0].kernel);
            if (b.expansion > f.blocks[0].expansion || b.expansion < 2)
                return format("stage %zu: expansion %lld out of 2..%lld", i, (long long)b.expansion, (long long)f.blocks[0].expansion);
        }
    }
    return "";
}

void OfaSupernet::check_subnet(const Arch& a) const {
    if (const std::string why = outside(a); !why.empty()) throw Error("ofa", "not a subnet of the supernet: " + why);
}

template <class F>
void OfaSupernet::for_each_pair(const MobileNetV2& sub, const Arch& a, F&& f) const {
    f(*full_->stem, *sub.stem);
    f(*full_->stem_bn, *sub.stem_bn);
    size_t start = 0, k = 0;
    for (size_t i = 0; i < a.stages.size(); ++i) {
        for (size_t b = 0; b < a.stages[i].blocks.size(); ++b) f((*full_->blocks)[start + b], (*sub.blocks)[k++]);
        start += largest_.stages[i].blocks.size();
    }
    f(*full_->head, *sub.head);
    f(*full_->head_bn, *sub.head_bn);
    f(*full_->classifier, *sub.classifier);
}

std::shared_ptr<MobileNetV2> OfaSupernet::extract(const Arch& a) const {
    check_subnet(a);
    auto sub = build_model(a, 1, full_->stem->weight.dim(1), full_->classifier->weight.dim(0));
    for_each_pair(*sub, a, [](const nn::Module& fm, const nn::Module& sm) {
        const auto fp = fm.named_parameters(), sp = sm.named_parameters();
        for (size_t i = 0; i < sp.size(); ++i) {
            const Region r = region_of(fp.at(i).second.shape(), sp[i].second.shape(), sp[i].first);
            const float* src = fp[i].second.data();
            float* dst = const_cast<nn::Var&>(sp[i].second).data();
            for_region(r, [&](int64_t fi, int64_t si) { dst[si] = src[fi]; });
        }
        const auto fb = fm.named_buffers(), sb = sm.named_buffers();
        for (size_t i = 0; i < sb.size(); ++i) {
            const Region r = region_of(fb.at(i).second.shape(), sb[i].second.shape(), sb[i].first);
            const float* src = fb[i].second.data<float>();
            Tensor dt = sb[i].second;  // shares the subnet's storage
            float* dst = dt.data<float>();
            for_region(r, [&](int64_t fi, int64_t si) { dst[si] = src[fi]; });
        }
    });
    sub->train(true);
    return sub;
}

void OfaSupernet::accumulate_grads(const MobileNetV2& sub, const Arch& a) {
    check_subnet(a);
    for_each_pair(sub, a, [](const nn::Module& fm, const nn::Module& sm) {
        auto fp = fm.named_parameters();
        const auto sp = sm.named_parameters();
        for (size_t i = 0; i < sp.size(); ++i) {
            if (!sp[i].second.has_grad()) continue;
            const Region r = region_of(fp.at(i).second.shape(), sp[i].second.shape(), sp[i].first);
            const float* g = sp[i].second.grad().data<float>();
            float* acc = fp[i].second.grad_buffer().data<float>();
            for_region(r, [&](int64_t fi, int64_t si) { acc[fi] += g[si]; });
        }
    });
}

void OfaSupernet::store_buffers(const MobileNetV2& sub, const Arch& a) {
    check_subnet(a);
    for_each_pair(sub, a, [](const nn::Module& fm, const nn::Module& sm) {
        const auto fb = fm.named_buffers(), sb = sm.named_buffers();
        for (size_t i = 0; i < sb.size(); ++i) {
            const Region r = region_of(fb.at(i).second.shape(), sb[i].second.shape(), sb[i].first);
            Tensor ft = fb[i].second;
            float* dst = ft.data<float>();
            const float* src = sb[i].second.data<float>();
            for_region(r, [&](int64_t fi, int64_t si) { dst[fi] = src[si]; });
        }
    });
}

void OfaSupernet::sort_expansion_channels() {
    for (size_t i = 0; i < full_->blocks->size(); ++i) {
        auto& b = dynamic_cast<InvertedResidual&>((*full_->blocks)[i]);
        if (!b.expand) continue;
        const Tensor& pw = b.project->weight.value();  // (out, hidden, 1, 1)
        const int64_t out = pw.dim(0), hidden = pw.dim(1);
        std::vector<double> importance(static_cast<size_t>(hidden), 0.0);
        const float* p = pw.data<float>();
        for (int64_t o = 0; o < out; ++o)
            for (int64_t h = 0; h < hidden; ++h) importance[static_cast<size_t>(h)] += std::fabs(p[o * hidden + h]);
        std::vector<int64_t> perm(static_cast<size_t>(hidden));
        std::iota(perm.begin(), perm.end(), 0);
        std::stable_sort(perm.begin(), perm.end(), [&](int64_t x, int64_t y) { return importance[static_cast<size_t>(x)] > importance[static_cast<size_t>(y)]; });
        permute_module(*b.expand, perm, 0);
        permute_module(*b.expand_bn, perm, 0);
        permute_module(*b.dw, perm, 0);
        permute_module(*b.dw_bn, perm, 0);
        permute_dim(b.project->weight.value(), perm, 1);
    }
}

}  // namespace tern::nas
