// nas/pareto: the front on a hand-made set and against the O(n^2) definition,
// the candidates' CSV, and the plot.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "nas/cost.h"
#include "nas/pareto.h"
#include "nas/sampler.h"

using namespace tern::nas;

TEST(NasPareto, FrontOfAHandMadeSet) {
    //                        0    1    2    3    4    5    6    7    8
    const std::vector<double> cost = {3, 1, 2, 2, 4, 1, 5, NAN, 6};
    const std::vector<double> acc = {.5, .2, .6, .4, .6, .2, .9, 1., .9};
    // 1 and 5 are equal and cheapest; 2 beats every cheaper one; 3 loses to 2 at the same cost;
    // 0 and 4 lose to 2; 6 is the most accurate; 7 is not finite; 8 ties 6 at a higher cost.
    EXPECT_EQ(pareto_front(cost, acc), (std::vector<size_t>{1, 5, 2, 6}));
    EXPECT_TRUE(pareto_front({}, {}).empty());
    EXPECT_THROW(pareto_front({1}, {}), tern::InputError);
}

TEST(NasPareto, FrontMatchesTheDefinitionOnRandomSets) {
    tern::data::Rng rng(9);
    for (int trial = 0; trial < 50; ++trial) {
        const size_t n = 1 + rng.below(30);
        std::vector<double> cost(n), acc(n);
        for (size_t i = 0; i < n; ++i) cost[i] = static_cast<double>(rng.below(10)), acc[i] = static_cast<double>(rng.below(10));
        std::vector<size_t> want;
        for (size_t i = 0; i < n; ++i) {
            bool dominated = false;
            for (size_t j = 0; j < n; ++j)
                dominated |= cost[j] <= cost[i] && acc[j] >= acc[i] && (cost[j] < cost[i] || acc[j] > acc[i]);
            if (!dominated) want.push_back(i);
        }
        std::vector<size_t> got = pareto_front(cost, acc);
        for (size_t k = 1; k < got.size(); ++k) EXPECT_LE(cost[got[k - 1]], cost[got[k]]);
        std::sort(got.begin(), got.end());
        EXPECT_EQ(got, want) << "trial " << trial;
    }
}

TEST(NasPareto, CsvFlagsAndPlot) {
    const Space s = mobilenet_space();
    tern::data::Rng rng(4);
    std::vector<CandidateRow> rows;
    for (int i = 0; i < 6; ++i) {
        CandidateRow r;
        r.arch = sample_arch(s, rng);
        r.cost = arch_cost(r.arch);
        r.latency_ms = 1 + i % 3;
        r.trained = i != 5;  // an untrained (proxy-scored) row is never on a front
        r.val_accuracy = 0.1 * (i + 1);
        rows.push_back(r);
    }
    const std::string csv = pareto_csv(rows, 4);
    EXPECT_EQ(csv.rfind("index,arch,params,macs,latency_ms,trained,val_accuracy,pareto_macs,pareto_latency,winner\n", 0), 0u);
    std::vector<std::string> lines;
    for (size_t a = 0, b; (b = csv.find('\n', a)) != std::string::npos; a = b + 1) lines.push_back(csv.substr(a, b - a));
    ASSERT_EQ(lines.size(), 7u);
    // Latencies 1,2,3,1,2 for the trained rows with accuracies .1 .. .5: row 3 (1 ms, .4) and row 4 (2 ms, .5) are the latency front.
    auto tail = [&](size_t row) { return lines[row + 1].substr(lines[row + 1].rfind('"') + 1); };
    EXPECT_EQ(tail(3).substr(tail(3).size() - 5), "1,1,0") << tail(3);  // pareto_latency 1, not the winner
    EXPECT_EQ(tail(4).substr(tail(4).size() - 3), "1,1") << tail(4);    // on the latency front, the winner
    EXPECT_EQ(tail(0).substr(tail(0).size() - 3), "0,0") << tail(0);
    EXPECT_NE(tail(5).find(",0,,0,0,0"), std::string::npos) << tail(5);  // untrained: no accuracy, on no front

    const tern::PlotCanvas img = render_pareto(rows, 4, "test");
    EXPECT_EQ(img.width, 1200);
    EXPECT_EQ(img.height, 380);
    int red = 0, blue = 0;
    for (size_t i = 0; i + 2 < img.pixels.size(); i += 3) {
        red += img.pixels[i] == 0xd6 && img.pixels[i + 1] == 0x27 && img.pixels[i + 2] == 0x28;
        blue += img.pixels[i] == 0x1f && img.pixels[i + 1] == 0x77 && img.pixels[i + 2] == 0xb4;
    }
    EXPECT_GT(red, 100) << "the front is drawn";
    EXPECT_GT(blue, 25) << "the winner is marked";
}
