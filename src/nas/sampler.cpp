#include "nas/sampler.h"

#include <cmath>

namespace tern::nas {
namespace {

template <class T>
T pick(const std::vector<T>& v, data::Rng& rng) {
    return v[rng.below(v.size())];
}

// A value of `v` other than `current` (v has at least two distinct values).
template <class T>
T pick_other(const std::vector<T>& v, T current, data::Rng& rng) {
    std::vector<T> others;
    for (const T& x : v)
        if (x != current) others.push_back(x);
    return others.empty() ? current : pick(others, rng);
}

}  // namespace

Arch sample_arch(const Space& s, data::Rng& rng) {
    Arch a;
    a.stem = s.stem;
    a.head = s.head;
    for (const StageSpace& st : s.stages) {
        StageArch stage{st.channels, st.stride, {}};
        const int64_t depth = pick(st.depths, rng);
        for (int64_t b = 0; b < depth; ++b) {
            BlockArch blk;
            blk.kernel = pick(s.kernels, rng);
            blk.expansion = pick(s.expansions, rng);
            stage.blocks.push_back(blk);
        }
        a.stages.push_back(std::move(stage));
    }
    a.width = pick(s.widths, rng);
    return a;
}

Arch mutate_arch(const Arch& a, const Space& s, data::Rng& rng) {
    // The genes that can change, each as (kind, stage, block); one is drawn uniformly.
    enum Kind { width, depth, kernel, expansion };
    struct Gene {
        Kind kind;
        size_t stage = 0, block = 0;
    };
    std::vector<Gene> genes;
    if (s.widths.size() > 1) genes.push_back({width});
    for (size_t i = 0; i < a.stages.size() && i < s.stages.size(); ++i) {
        if (s.stages[i].depths.size() > 1) genes.push_back({depth, i});
        for (size_t b = 0; b < a.stages[i].blocks.size(); ++b) {
            if (s.kernels.size() > 1) genes.push_back({kernel, i, b});
            if (s.expansions.size() > 1) genes.push_back({expansion, i, b});
        }
    }
    Arch m = a;
    if (genes.empty()) return m;
    const Gene g = pick(genes, rng);
    switch (g.kind) {
        case width: m.width = pick_other(s.widths, a.width, rng); break;
        case depth: {
            auto& blocks = m.stages[g.stage].blocks;
            const auto d = static_cast<size_t>(pick_other(s.stages[g.stage].depths, static_cast<int64_t>(blocks.size()), rng));
            const BlockArch last = blocks.back();
            blocks.resize(d, last);
            break;
        }
        case kernel: m.stages[g.stage].blocks[g.block].kernel = pick_other(s.kernels, a.stages[g.stage].blocks[g.block].kernel, rng); break;
        case expansion:
            m.stages[g.stage].blocks[g.block].expansion =
                pick_other(s.expansions, a.stages[g.stage].blocks[g.block].expansion, rng);
            break;
    }
    return m;
}

double space_size(const Space& s) {
    const double per_block = static_cast<double>(s.kernels.size() * s.expansions.size());
    double n = static_cast<double>(s.widths.size());
    for (const StageSpace& st : s.stages) {
        double stage = 0;
        for (int64_t d : st.depths) stage += std::pow(per_block, static_cast<double>(d));
        n *= stage;
    }
    return std::min(n, std::ldexp(1.0, 62));
}

}  // namespace tern::nas
