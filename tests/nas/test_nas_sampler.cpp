// nas/sampler: uniform draws stay inside the space; a mutation changes one choice.
#include <gtest/gtest.h>

#include <set>

#include "nas/sampler.h"

using namespace tern::nas;

namespace {

// How many choices differ between two architectures of the same space
// (width, each stage's depth, each shared block's kernel and expansion).
int choices_changed(const Arch& a, const Arch& b) {
    int n = a.width != b.width;
    for (size_t i = 0; i < a.stages.size(); ++i) {
        const auto& x = a.stages[i].blocks;
        const auto& y = b.stages[i].blocks;
        n += x.size() != y.size();
        for (size_t k = 0; k < std::min(x.size(), y.size()); ++k)
            n += (x[k].kernel != y[k].kernel) + (x[k].expansion != y[k].expansion);
    }
    return n;
}

}  // namespace

TEST(NasSampler, SamplesStayInTheSpaceAndCoverItsChoices) {
    const Space s = mobilenet_space();
    tern::data::Rng rng(3);
    std::set<int64_t> kernels, expansions, depths;
    std::set<double> widths;
    for (int i = 0; i < 300; ++i) {
        const Arch a = sample_arch(s, rng);
        ASSERT_EQ(arch_outside_space(a, s), "");
        widths.insert(a.width);
        for (const auto& st : a.stages) {
            depths.insert(static_cast<int64_t>(st.blocks.size()));
            for (const auto& b : st.blocks) {
                kernels.insert(b.kernel);
                expansions.insert(b.expansion);
            }
        }
    }
    EXPECT_EQ(kernels, (std::set<int64_t>{3, 5, 7}));
    EXPECT_EQ(expansions, (std::set<int64_t>{3, 4, 6}));
    EXPECT_EQ(depths, (std::set<int64_t>{2, 3, 4}));
    EXPECT_EQ(widths, (std::set<double>{0.5, 0.75, 1.0}));
}

TEST(NasSampler, SameSeedSameSamples) {
    const Space s = mobilenet_space();
    tern::data::Rng a(11), b(11);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(sample_arch(s, a), sample_arch(s, b));
}

TEST(NasSampler, MutationChangesExactlyOneChoiceAndStaysInTheSpace) {
    const Space s = mobilenet_space();
    tern::data::Rng rng(5);
    Arch a = sample_arch(s, rng);
    for (int i = 0; i < 500; ++i) {
        const Arch m = mutate_arch(a, s, rng);
        ASSERT_EQ(arch_outside_space(m, s), "");
        ASSERT_EQ(choices_changed(a, m), 1) << arch_to_string(a) << " -> " << arch_to_string(m);
        a = m;
    }
}

TEST(NasSampler, MutationOfASingleArchitectureSpaceIsTheIdentity) {
    Space s;
    s.stem = 8;
    s.head = 16;
    s.stages = {{8, 2, {1}}};
    s.kernels = {3};
    s.expansions = {1};
    s.widths = {1.0};
    tern::data::Rng rng(1);
    const Arch a = sample_arch(s, rng);
    EXPECT_EQ(mutate_arch(a, s, rng), a);
    EXPECT_EQ(space_size(s), 1);
}
