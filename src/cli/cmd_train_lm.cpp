// The language-model half of `tern train`'s report (recipes with "data":
// "text"): the exported GGUF (<out>), its tokenizer (<out>.tokenizer.json) and
// the test split's perplexity.
#include <cmath>
#include <cstdio>

#include "cli/train_report.h"
#include "core/json_out.h"
#include "core/thread_pool.h"
#include "nn/train/run_report.h"

namespace tern::cli {

using namespace tern::nn::train;

void print_lm_result(const RunResult& r, bool json) {
    const EpochMetrics& last = r.history.back();
    if (json) {
        Json j;
        j["model"] = r.model;
        j["output"] = r.output;
        j["tokenizer"] = r.tokenizer;
        j["epochs"] = r.epochs;
        j["parameters"] = r.parameters;
        j["train_tokens"] = r.train_tokens;
        j["val_loss"] = last.val_loss;
        j["val_ppl"] = std::exp(last.val_loss);
        j["test_loss"] = r.test_loss;
        j["test_ppl"] = r.test_ppl();
        j["test_tokens"] = r.test_count;
        j["train_seconds"] = r.train_seconds;
        j["threads"] = default_thread_count();
        j["metrics_csv"] = r.metrics_csv;
        j["plot_png"] = r.plot_png;
        j["history"] = history_json(r.history);
        print_json(j);
        return;
    }
    std::printf("test (%lld tokens, every position, context %lld): loss %.4f ppl %.2f next-token acc %s\n",
                static_cast<long long>(r.test_count), static_cast<long long>(r.context), r.test_loss, r.test_ppl(),
                pct(r.test_accuracy).c_str());
    std::printf("wrote %s, %s, %s, %s (training %s)\n", r.output.c_str(), r.tokenizer.c_str(), r.metrics_csv.c_str(),
                r.plot_png.c_str(), fmt_duration(r.train_seconds).c_str());
}

}  // namespace tern::cli
