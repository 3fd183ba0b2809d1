// Calibration observers on the LLM runtime: Session reports every Linear with
// its role, layer and rows; the collector's X^T X, absmax, mean x² ... match a
// direct f64 computation over the same rows, and over rows rebuilt without the
// runtime (rmsnorm of the embeddings for layer 0); merging the statistics of
// two halves gives those of one pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "llm/forward.h"
#include "llm/model_loader.h"
#include "ops/calibration_stats.h"
#include "quant/calibration.h"

namespace tern {
namespace {

using io::TensorRole;

std::string calibration_tinylm_path() { return std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf"; }

const llm::Model& calibration_tinylm() {
    static const auto model = llm::load_model(calibration_tinylm_path(), {ops::FloatMath::exact});
    return *model;
}

// Two windows of 64 tokens, BOS first, the rest spread over the vocabulary.
std::vector<std::vector<int32_t>> windows_2x64(const llm::Model& m) {
    std::vector<std::vector<int32_t>> w(2);
    uint64_t s = 12345;
    for (auto& win : w) {
        win.push_back(m.config.bos_token >= 0 ? m.config.bos_token : 0);
        while (win.size() < 64) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            win.push_back(static_cast<int32_t>((s >> 33) % static_cast<uint64_t>(m.config.n_vocab - 1)));
        }
    }
    return w;
}

// Records every call, and copies the rows of the Linears it is asked to capture.
struct Recorder final : ops::LinearObserver {
    struct Call {
        io::RoleOf role;
        int64_t rows, in, out;
    };
    std::vector<Call> calls;
    std::vector<io::RoleOf> capture;
    std::vector<std::vector<float>> xs, ys;  // per capture entry: all rows seen, (rows, in) / (rows, out)
    void on_linear(const ops::LinearCall& c) override {
        calls.push_back({c.role, c.rows, c.in_features, c.out_features});
        for (size_t i = 0; i < capture.size(); ++i)
            if (capture[i].role == c.role.role && capture[i].layer == c.role.layer) {
                xs[i].insert(xs[i].end(), c.x, c.x + c.rows * c.in_features);
                ys[i].insert(ys[i].end(), c.y, c.y + c.rows * c.out_features);
            }
    }
    void want(io::RoleOf r) {
        capture.push_back(r);
        xs.emplace_back();
        ys.emplace_back();
    }
};

struct Tee final : ops::LinearObserver {
    std::vector<ops::LinearObserver*> to;
    void on_linear(const ops::LinearCall& c) override {
        for (auto* o : to) o->on_linear(c);
    }
};

ops::StatSet all_stats() { return {true, true, true, true, true, true}; }

const ops::Linear& weight_of(const llm::Model& m, io::RoleOf r) {
    if (r.role == TensorRole::output) return *m.output;
    const llm::LayerWeights& L = m.layers[static_cast<size_t>(r.layer)];
    switch (r.role) {
        case TensorRole::attn_q: return *L.wq;
        case TensorRole::attn_k: return *L.wk;
        case TensorRole::attn_v: return *L.wv;
        case TensorRole::attn_output: return *L.wo;
        case TensorRole::ffn_gate: return *L.ffn_gate;
        case TensorRole::ffn_up: return *L.ffn_up;
        default: return *L.ffn_down;
    }
}

TEST(Calibration, ObserverSeesEveryLinearWithItsRoleAndRows) {
    const llm::Model& m = calibration_tinylm();
    const auto& c = m.config;
    llm::Session s(m, {.n_ctx = 64});
    Recorder rec;
    rec.want({TensorRole::attn_v, 1});
    rec.want({TensorRole::ffn_up, 3});  // observed before silu_mul overwrites its output
    s.set_linear_observer(&rec);
    std::vector<float> logits;
    const auto w = windows_2x64(m);
    s.eval(w[0], logits, /*all_logits=*/true);
    s.reset();
    s.eval(std::span(w[1]).first(40), logits);  // head on the last row only

    const TensorRole per_layer[] = {TensorRole::attn_q,   TensorRole::attn_k, TensorRole::attn_v, TensorRole::attn_output,
                                    TensorRole::ffn_gate, TensorRole::ffn_up, TensorRole::ffn_down};
    const size_t per_window = static_cast<size_t>(7 * c.n_layer + 1);
    ASSERT_EQ(rec.calls.size(), 2 * per_window);
    for (int win = 0; win < 2; ++win) {
        const int64_t T = win == 0 ? 64 : 40;
        for (int64_t l = 0; l < c.n_layer; ++l)
            for (int k = 0; k < 7; ++k) {
                const auto& call = rec.calls[win * per_window + static_cast<size_t>(l * 7 + k)];
                EXPECT_EQ(call.role.role, per_layer[k]);
                EXPECT_EQ(call.role.layer, l);
                EXPECT_EQ(call.rows, T);
                const auto& wt = weight_of(m, call.role);
                EXPECT_EQ(call.in, wt.in_features());
                EXPECT_EQ(call.out, wt.out_features());
            }
        const auto& head = rec.calls[win * per_window + per_window - 1];
        EXPECT_EQ(head.role.role, TensorRole::output);
        EXPECT_EQ(head.role.layer, -1);
        EXPECT_EQ(head.rows, win == 0 ? 64 : 1);
        EXPECT_EQ(head.out, c.n_vocab);
    }
    // y is the weight's output for x, bit for bit (the same kernel on the same rows).
    for (size_t i = 0; i < rec.capture.size(); ++i) {
        const auto& wt = weight_of(m, rec.capture[i]);
        const int64_t rows = static_cast<int64_t>(rec.xs[i].size()) / wt.in_features();
        ASSERT_EQ(rows, 104);
        for (int64_t r0 : {int64_t{0}, int64_t{64}}) {
            const int64_t n = r0 == 0 ? 64 : 40;
            std::vector<float> y(static_cast<size_t>(n * wt.out_features()));
            wt.forward(rec.xs[i].data() + r0 * wt.in_features(), y.data(), n);
            EXPECT_TRUE(std::equal(y.begin(), y.end(), rec.ys[i].begin() + r0 * wt.out_features())) << i;
        }
    }
    s.set_linear_observer(nullptr);
    s.reset();
    const size_t before = rec.calls.size();
    s.eval(w[0], logits);
    EXPECT_EQ(rec.calls.size(), before) << "a removed observer sees nothing";
}

// Direct f64 statistics of rows x (n, K), compared with an accumulator.
void expect_matches_direct(const ops::LinearInputStats& st, const std::vector<float>& x, int64_t K, double h_tol,
                           const char* what) {
    const int64_t n = static_cast<int64_t>(x.size()) / K;
    ASSERT_EQ(st.rows(), n) << what;
    const std::vector<double> h = st.hessian_sum();
    ASSERT_EQ(h.size(), static_cast<size_t>(K * K)) << what;
    double max_rel = 0, scale = 0;
    for (int64_t i = 0; i < K; ++i)
        for (int64_t j = 0; j < K; ++j) {
            double d = 0;
            for (int64_t r = 0; r < n; ++r) d += double(x[r * K + i]) * double(x[r * K + j]);
            scale = std::max(scale, std::fabs(d));
            max_rel = std::max(max_rel, std::fabs(d - h[static_cast<size_t>(i * K + j)]));
        }
    EXPECT_LE(max_rel / scale, h_tol) << what << ": X^T X";
    const std::vector<float> msq = st.mean_sq(), mabs = st.mean_abs();
    for (int64_t k = 0; k < K; ++k) {
        double sq = 0, ab = 0;
        float amax = 0, mn = INFINITY, mx = -INFINITY;
        std::vector<uint64_t> hist(ops::kHistBins, 0);
        for (int64_t r = 0; r < n; ++r) {
            const float v = x[r * K + k];
            sq += double(v) * v, ab += std::fabs(double(v));
            amax = std::max(amax, std::fabs(v)), mn = std::min(mn, v), mx = std::max(mx, v);
            const double a = std::fabs(double(v));  // the bin by its definition, not by hist_bin()
            const int bin = a < std::ldexp(1.0, -16) ? 0 : a >= 65536.0 ? ops::kHistBins - 1 : 17 + int(std::floor(std::log2(a)));
            ++hist[static_cast<size_t>(bin)];
        }
        const float tol = h_tol > 1e-9 ? 1e-4f : 0.0f;  // rows rebuilt outside the runtime differ by f32 rounding
        EXPECT_NEAR(msq[k], sq / double(n), 1e-6 * sq / double(n) + tol * msq[k]) << what << " meansq " << k;
        EXPECT_NEAR(mabs[k], ab / double(n), 1e-6 * ab / double(n) + tol * mabs[k]) << what << " meanabs " << k;
        EXPECT_NEAR(st.absmax()[k], amax, tol * amax) << what << " absmax " << k;
        if (tol == 0.0f) {
            EXPECT_EQ(st.min()[k], mn) << what << " min " << k;
            EXPECT_EQ(st.max()[k], mx) << what << " max " << k;
            for (int b = 0; b < ops::kHistBins; ++b)
                EXPECT_EQ(st.histogram()[static_cast<size_t>(k * ops::kHistBins + b)], hist[static_cast<size_t>(b)]) << what;
        }
    }
}

TEST(Calibration, StatisticsMatchDirectF64OverTheSameRows) {
    const llm::Model& m = calibration_tinylm();
    llm::Session s(m, {.n_ctx = 64});
    ops::CalibrationCollector col(all_stats(), &default_pool());
    Recorder rec;
    rec.want({TensorRole::ffn_down, 2});
    rec.want({TensorRole::output, -1});
    rec.want({TensorRole::attn_q, 0});
    Tee tee;
    tee.to = {&col, &rec};
    quant::observe_windows(s, windows_2x64(m), tee);
    ASSERT_EQ(col.entries().size(), static_cast<size_t>(7 * m.config.n_layer + 1));
    for (const auto& e : col.entries()) EXPECT_EQ(e.stats.rows(), 128);
    expect_matches_direct(*col.find({TensorRole::ffn_down, 2}), rec.xs[0], m.config.n_ff, 1e-12, "ffn_down.2");
    expect_matches_direct(*col.find({TensorRole::output, -1}), rec.xs[1], m.config.n_embd, 1e-12, "output");
}

// Layer 0's attention input rebuilt without the runtime: RMSNorm of the
// embedding rows, times attn_norm, in double.
TEST(Calibration, Layer0HessianMatchesRowsRebuiltFromTheEmbeddings) {
    const llm::Model& m = calibration_tinylm();
    const int64_t d = m.config.n_embd;
    llm::Session s(m, {.n_ctx = 64});
    ops::CalibrationCollector col({.hessian = true}, nullptr);
    const auto windows = windows_2x64(m);
    quant::observe_windows(s, windows, col);
    std::vector<float> x, row(static_cast<size_t>(d));
    const auto& g = m.layers[0].attn_norm_w;
    for (const auto& w : windows)
        for (int32_t t : w) {
            m.embed(t, row.data());
            double ss = 0;
            for (float v : row) ss += double(v) * v;
            const double inv = 1.0 / std::sqrt(ss / double(d) + m.config.norm_eps);
            for (int64_t k = 0; k < d; ++k) x.push_back(static_cast<float>(row[k] * inv * g[k]));
        }
    for (TensorRole r : {TensorRole::attn_q, TensorRole::attn_k, TensorRole::attn_v}) {
        const ops::LinearInputStats* st = col.find({r, 0});
        ASSERT_NE(st, nullptr);
        ASSERT_EQ(st->rows(), 128);
        const std::vector<double> h = st->hessian_sum();
        double err = 0, scale = 0;
        for (int64_t i = 0; i < d; ++i)
            for (int64_t j = 0; j < d; ++j) {
                double want = 0;
                for (int64_t n = 0; n < 128; ++n) want += double(x[n * d + i]) * double(x[n * d + j]);
                scale = std::max(scale, std::fabs(want));
                err = std::max(err, std::fabs(want - h[static_cast<size_t>(i * d + j)]));
            }
        EXPECT_LT(err / scale, 1e-5) << io::tensor_role_name(r);
        EXPECT_GT(scale, 0.0);
    }
}

void expect_same_stats(const ops::LinearInputStats& a, const ops::LinearInputStats& b, double rel) {
    ASSERT_EQ(a.rows(), b.rows());
    EXPECT_EQ(a.absmax(), b.absmax());
    EXPECT_EQ(a.min(), b.min());
    EXPECT_EQ(a.max(), b.max());
    EXPECT_EQ(a.histogram(), b.histogram());
    auto near = [&](const std::vector<double>& x, const std::vector<double>& y, const char* what) {
        ASSERT_EQ(x.size(), y.size()) << what;
        for (size_t i = 0; i < x.size(); ++i)
            ASSERT_NEAR(x[i], y[i], rel * std::max(1.0, std::fabs(y[i]))) << what << " " << i;
    };
    near(a.sum_sq(), b.sum_sq(), "sum_sq");
    near(a.sum_abs(), b.sum_abs(), "sum_abs");
    near(a.hessian_sum(), b.hessian_sum(), "hessian");
}

TEST(Calibration, MergeOfTwoHalvesEqualsOnePass) {
    const llm::Model& m = calibration_tinylm();
    llm::Session s(m, {.n_ctx = 64});
    const auto w = windows_2x64(m);
    ops::CalibrationCollector one(all_stats(), &default_pool()), a(all_stats()), b(all_stats());
    quant::observe_windows(s, w, one);
    quant::observe_windows(s, std::span(w).first(1), a);
    quant::observe_windows(s, std::span(w).subspan(1), b);
    a.merge(b);
    ASSERT_EQ(a.entries().size(), one.entries().size());
    for (size_t i = 0; i < one.entries().size(); ++i) {
        EXPECT_EQ(a.entries()[i].role.role, one.entries()[i].role.role);
        EXPECT_EQ(a.entries()[i].role.layer, one.entries()[i].role.layer);
        // f64 sums added in another order: equal to ~1 ulp of the sum.
        expect_same_stats(a.entries()[i].stats, one.entries()[i].stats, 1e-13);
    }
    ops::CalibrationCollector other_kinds({.absmax = true});
    EXPECT_THROW(a.merge(other_kinds), InputError);
}

// Accumulators of their own in threads of their own, then merge(); the pool
// that splits the Hessian update changes nothing, bit for bit.
TEST(Calibration, ThreadedAccumulatorsMergeToTheSerialResult) {
    const int64_t K = 200, rows = 300;
    std::vector<float> x(static_cast<size_t>(rows * K));
    uint64_t s = 7;
    for (float& v : x) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        v = static_cast<float>(int64_t(s >> 40) - (int64_t(1) << 23)) / float(1 << 20);  // about [-8, 8)
    }
    x[5] = 0.0f, x[6] = 1e-30f, x[7] = 1e6f;  // the histogram's end bins
    ops::LinearInputStats serial(K, all_stats()), pooled(K, all_stats());
    serial.add(x.data(), rows);
    ThreadPool pool(3);
    pooled.add(x.data(), rows, &pool);
    EXPECT_EQ(pooled.hessian_sum(), serial.hessian_sum());
    std::vector<ops::LinearInputStats> parts(4, ops::LinearInputStats(K, all_stats()));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] { parts[static_cast<size_t>(t)].add(x.data() + t * (rows / 4) * K, rows / 4); });
    for (auto& t : threads) t.join();
    for (int t = 1; t < 4; ++t) parts[0].merge(parts[static_cast<size_t>(t)]);
    expect_same_stats(parts[0], serial, 1e-13);
    EXPECT_EQ(ops::hist_bin(0.0f), 0);
    EXPECT_EQ(ops::hist_bin(1.0f), 17);
    EXPECT_EQ(ops::hist_bin(-1.5f), 17);
    EXPECT_EQ(ops::hist_bin(65535.0f), ops::kHistBins - 2);
    EXPECT_EQ(ops::hist_bin(NAN), ops::kHistBins - 1);
    EXPECT_THROW(parts[0].merge(ops::LinearInputStats(K + 1, all_stats())), InputError);
}

TEST(Calibration, StatSetParsesTheCliList) {
    const ops::StatSet s = ops::parse_stat_set("absmax,meansq,hessian");
    EXPECT_TRUE(s.absmax && s.meansq && s.hessian);
    EXPECT_FALSE(s.meanabs || s.minmax || s.hist);
    EXPECT_EQ(ops::stat_set_names(s), "absmax,meansq,hessian");
    EXPECT_THROW(ops::parse_stat_set(""), UsageError);
    EXPECT_THROW(ops::parse_stat_set("absmax,,meansq"), UsageError);
    EXPECT_THROW(ops::parse_stat_set("absmax,varience"), UsageError);
}

}  // namespace
}  // namespace tern
