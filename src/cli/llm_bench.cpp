#include "cli/llm_bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

#include "cli/context_limits.h"
#include "cli/llm_options.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "hw/bandwidth.h"
#include "llm/forward.h"
#include "llm/model_loader.h"
#include "ops/linear_sparse24.h"

namespace tern::cli {
namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

double peak_rss_mb() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Paths of the model's Linears with counts, and the sparse24_q8 choices summed.
void describe_linears(const llm::Model& m, LlmBenchResult& r) {
    std::map<std::string, int> paths;
    int sparse = 0, dense = 0;
    double sparse_us = 0, dense_us = 0;
    auto visit = [&](const std::unique_ptr<ops::Linear>& l) {
        if (!l) return;
        ++paths[ops::linear_path_name(l->path())];
        if (const ops::Sparse24Choice* c = l->sparse24_choice()) {
            (c->sparse ? sparse : dense) += 1;
            sparse_us += c->sparse_us;
            dense_us += c->dense_us;
        }
    };
    for (const auto& layer : m.layers)
        for (const auto* l : {&layer.wq, &layer.wk, &layer.wv, &layer.wo, &layer.ffn_gate, &layer.ffn_up, &layer.ffn_down})
            visit(*l);
    visit(m.output);
    for (const auto& [name, count] : paths) r.linear_paths += (r.linear_paths.empty() ? "" : ", ") + name + " " + std::to_string(count);
    if (sparse + dense > 0)
        r.sparse24_choice = format("sparse24_q8: sparse kernel kept for %d of %d matrices; one decode step of all of them "
                                   "measured at load: sparse %.0f us, dense int8 %.0f us",
                                   sparse, sparse + dense, sparse_us, dense_us);
}

}  // namespace

std::vector<LlmBenchResult> run_llm_bench(const LlmBenchOptions& o, const std::vector<int>& threads) {
    if (o.prompt < 1 || o.gen < 1) throw UsageError("bench", "--prompt and --gen must be >= 1");
    if (o.reps < 1) throw UsageError("bench", "--reps must be >= 1");
    if (o.kv != "f16" && o.kv != "f32") throw UsageError("--kv", "must be f32 or f16");
    for (int P : o.parallel)
        if (P < 1 || P > 256) throw UsageError("--parallel", format("%d sequences: allowed 1..256", P));
    const auto model = llm::load_model(o.model, load_options_for(o.fpmath));
    llm::SessionOptions so;
    so.n_ctx = int64_t{o.prompt} + o.gen + 1;  // in 64 bits: two ints near INT_MAX would wrap
    so.kv_type = o.kv == "f16" ? ops::KvType::f16 : ops::KvType::f32;
    check_context(*model, so.n_ctx, so.kv_type, "--prompt + --gen", /*warn_past_training=*/false);
    // Token ids spread over the vocabulary (speed does not depend on them).
    const int64_t vocab = model->config.n_vocab;
    std::vector<int32_t> prompt(static_cast<size_t>(o.prompt));
    for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 7919 + 1) % vocab);

    std::vector<LlmBenchResult> results;
    double model_rss_mb = 0;
    bool probed = false;  // ru_maxrss is a high-water mark: read it only before any probe existed
    for (int t : threads)
        for (int P : o.parallel) {
            set_default_threads(t);
            so.n_seq = P;
            llm::Session session(*model, so);
            std::vector<float> logits;
            LlmBenchResult r;
            r.model = o.model;
            r.fpmath = o.fpmath;
            r.threads = t;
            r.parallel = P;
            r.prompt = o.prompt;
            r.gen = o.gen;
            r.decode_weight_bytes = model->decode_weight_bytes();
            describe_linears(*model, r);
            std::vector<double> ttft, roofline;
            // The probe of `tern bench --kernels` (hw/bandwidth.h: 1 GiB, huge pages).
            std::unique_ptr<BandwidthProbe> probe;
            Progress progress("bench t=" + std::to_string(t) + (P > 1 ? " parallel=" + std::to_string(P) : ""), o.reps + 1);
            std::vector<llm::SeqTokens> items(static_cast<size_t>(P));
            std::vector<int32_t> next(static_cast<size_t>(P));
            const int64_t V = model->config.n_vocab;
            auto argmax_rows = [&] {
                for (int i = 0; i < P; ++i) {
                    const float* row = logits.data() + static_cast<int64_t>(i) * V;
                    next[static_cast<size_t>(i)] = static_cast<int32_t>(std::max_element(row, row + V) - row);
                }
            };
            for (int rep = -1; rep < o.reps; ++rep) {  // rep -1 warms caches and page-ins
                session.reset();
                for (int i = 0; i < P; ++i) items[static_cast<size_t>(i)] = {i, prompt, 1};
                auto t0 = std::chrono::steady_clock::now();
                session.eval_many(items, logits);
                const double prefill_s = seconds_since(t0);
                argmax_rows();
                const double first_token_s = seconds_since(t0);
                // tg starts from an empty cache, as llama-bench's tg test does, so the
                // two programs decode at the same context lengths.
                session.reset();
                t0 = std::chrono::steady_clock::now();
                for (int g = 0; g < o.gen; ++g) {
                    for (int i = 0; i < P; ++i)
                        items[static_cast<size_t>(i)] = {i, std::span<const int32_t>(&next[static_cast<size_t>(i)], 1), 1};
                    session.eval_many(items, logits);
                    argmax_rows();
                }
                const double decode_s = seconds_since(t0);
                if (rep < 0) {
                    // Peak RSS of the model and session, before the probe adds its buffer.
                    if (!probed) model_rss_mb = std::max(model_rss_mb, peak_rss_mb());
                    if (o.roofline && !probe) {
                        probe = std::make_unique<BandwidthProbe>();
                        probed = true;
                    }
                } else {
                    r.prefill_runs.push_back(double(P) * o.prompt / prefill_s);
                    r.decode_runs.push_back(double(P) * o.gen / decode_s);
                    ttft.push_back(first_token_s * 1e3);
                    if (probe) {
                        const double gbps = probe->measure().median_gbps;
                        r.read_gbps_runs.push_back(gbps);
                        // One weight read per decode step serves all P sequences.
                        roofline.push_back(static_cast<double>(r.decode_weight_bytes) * r.decode_runs.back() / P / 1e9 / gbps);
                    }
                }
                progress.update(rep + 2);
            }
            progress.finish();
            r.prefill_tps = median(r.prefill_runs);
            r.decode_tps = median(r.decode_runs);
            r.decode_weight_gbps = static_cast<double>(r.decode_weight_bytes) * r.decode_tps / P / 1e9;
            r.ttft_ms = median(ttft);
            r.peak_rss_mb = model_rss_mb;
            r.read_gbps = median(r.read_gbps_runs);
            r.decode_roofline = median(roofline);
            results.push_back(r);
        }
    return results;
}

Json llm_bench_json(const LlmBenchResult& r) {
    Json j;
    j["model"] = r.model;
    j["fpmath"] = r.fpmath;
    j["threads"] = r.threads;
    j["parallel"] = r.parallel;
    j["prompt"] = r.prompt;
    j["gen"] = r.gen;
    j["prefill_tps"] = r.prefill_tps;
    j["decode_tps"] = r.decode_tps;
    j["ttft_ms"] = r.ttft_ms;
    j["peak_rss_mb"] = r.peak_rss_mb;
    j["prefill_runs"] = r.prefill_runs;
    j["decode_runs"] = r.decode_runs;
    j["decode_weight_bytes"] = r.decode_weight_bytes;
    j["decode_weight_gbps"] = r.decode_weight_gbps;
    j["linear_paths"] = r.linear_paths;
    if (!r.sparse24_choice.empty()) j["sparse24_choice"] = r.sparse24_choice;
    if (!r.read_gbps_runs.empty()) {
        j["read_gbps"] = r.read_gbps;
        j["read_gbps_runs"] = r.read_gbps_runs;
        j["decode_roofline"] = r.decode_roofline;
    }
    return j;
}

}  // namespace tern::cli
