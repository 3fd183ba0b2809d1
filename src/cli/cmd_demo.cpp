// tern demo: an always-working tour of what tern does, on embedded defaults,
// ending in one table. It grows with each capability.
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>
#include <filesystem>
#include <random>
#include <unistd.h>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/demo_graph.h"
#include "cli/demo_lm.h"
#include "cli/demo_train.h"
#include "cli/kernel_bench.h"
#include "cli/llm_bench.h"
#include "core/cpu_features.h"
#include "core/table.h"
#include "core/thread_pool.h"
#include "formats/format.h"
#include "formats/format_error.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/text_corpus.h"
#include "llm/forward.h"
#include "llm/model_loader.h"
#include "llm/perplexity.h"
#include "llm/text_tokenizer.h"
#include "quant/calibration.h"
#include "quant/gguf_mix.h"
#include "quant/quantize_model.h"
#include "quant/rtn.h"
#include "prune/prune_file.h"
#include "prune/sparsity_mask.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"

namespace tern::cli {
namespace {

struct DemoRow {
    std::string step;
    std::string result;
    double seconds;
};

template <class F>
DemoRow timed(const std::string& step, F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string result = f();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return {step, result, s};
}

void run_demo(int threads) {
    apply_threads(threads);
    std::vector<DemoRow> rows;
    std::printf("tern demo: the toolkit's pipeline on its embedded defaults\n\n");

    rows.push_back(timed("cpu", [] {
        const auto& f = cpu_features();
        return f.brand + ", kernels: " + std::string(isa_name(active_isa())) + ", threads " +
               std::to_string(default_pool().size());
    }));

    rows.push_back(timed("number formats", [] {
        const auto x = synthetic_data("gaussian", 1 << 16, 7);
        std::string best;
        int count = 0;
        for (const auto& f : all_formats()) {
            ++count;
            const auto e = measure_format_error(f, x);
            if (f.bits_per_weight() <= 4.6 && (best.empty() || e.sqnr_db > std::stod(best.substr(best.rfind(' ') + 1)))) {
                best = std::string(f.name) + " at " + fmt_fixed(f.bits_per_weight(), 2) + " bits, SQNR dB " +
                       fmt_fixed(e.sqnr_db, 2);
            }
        }
        return std::to_string(count) + " formats; best <= 4.6 bits: " + (best.empty() ? "n/a" : best);
    }));

    const std::string models = std::string(TERN_SOURCE_DIR) + "/models/";
    for (const char* name : {"fmnist-lenet300", "fmnist-lenet5", "fmnist-mobilenetv2_tiny"}) {
        rows.push_back(timed(std::string("eval ") + name, [&] {
            namespace train = nn::train;
            const std::string path = models + name + ".safetensors";
            if (!std::filesystem::exists(path)) return "not found: " + path;
            const data::ImageDataset test = train::load_test_data("fashion-mnist");
            train::ClassifierFile c = train::load_classifier(path);
            const auto fp32 = train::evaluate(*c.model, test);
            // The same weights through RTN int8 (per 32, symmetric) and int4
            // (asymmetric, per 32) round trips: the accuracy cost of each format.
            std::string out = "Fashion-MNIST test accuracy f32 " + fmt_fixed(100 * fp32.accuracy, 2) + "%";
            for (const char* fmt_name : {"int8_sym_g32", "int4_asym_g32"}) {
                train::ClassifierFile q = train::load_classifier(path);
                for (auto& [pname, var] : q.model->named_parameters()) {
                    Tensor& w = var.value();
                    if (w.rank() < 2) continue;
                    const auto y = round_trip(format_by_name(fmt_name), tensor_to_f32(w, pname));
                    std::copy(y.begin(), y.end(), w.data<float>());
                }
                out += ", " + std::string(fmt_name) + " " + fmt_fixed(100 * train::evaluate(*q.model, test).accuracy, 2) + "%";
            }
            return out;
        }));
    }

    rows.push_back(timed("graph runtime", [&] { return demo_graph_export(models + "fmnist-lenet5.safetensors"); }));
    rows.push_back(timed("int8 graph", [&] { return demo_graph_int8(models + "fmnist-lenet5.safetensors"); }));
    rows.push_back(timed("w4a8 adaround", [&] { return demo_graph_w4a8(models + "fmnist-lenet5.safetensors"); }));
    rows.push_back(timed("ocr", [] { return demo_ocr(); }));

    std::string lm_sample;
    rows.push_back(timed("language model", [&] {
        const std::string path = models + "tinylm.gguf";
        if (!std::filesystem::exists(path)) return "not found: " + path;
        LmDemoResult r = demo_language_model(path);
        lm_sample = std::move(r.sample);
        return "tinylm.gguf (trained by tern): " + r.summary;
    }));

    rows.push_back(timed("calibrate", [&] {
        // Activation statistics for AWQ / GPTQ / SmoothQuant: per-channel absmax
        // and the input Hessian of every Linear over training-split windows.
        namespace fs = std::filesystem;
        const std::string path = models + "tinylm.gguf";
        if (!std::filesystem::exists(path)) return "not found: " + path;
        if (!load_text_corpus().missing_sources.empty()) return std::string("text corpus not installed");
        const fs::path out = fs::temp_directory_path() / ("tern-demo-calib-" + std::to_string(::getpid()) + ".gguf");
        quant::CalibrateOptions co;
        co.model = path;
        co.output = out.string();
        co.n_tokens = 2048;
        co.ctx = 256;
        co.stats = {.absmax = true, .hessian = true};
        const quant::CalibrateResult r = quant::calibrate_model(co);
        fs::remove(out);
        const quant::CalibrationRow* outlier = nullptr;
        for (const auto& row : r.rows)
            if (!outlier || row.max_absmax > outlier->max_absmax) outlier = &row;
        std::string s = std::to_string(r.rows.size()) + " Linears x " + std::to_string(r.n_tokens) +
                        " train-split tokens: absmax + Hessian X^T X each";
        if (outlier)
            s += "; largest input " + fmt_fixed(outlier->max_absmax, 1) + " at " + outlier->name + " channel " +
                 std::to_string(outlier->max_absmax_channel);
        return s;
    }));

    // Test-split perplexity of a model file on the first 16 windows of 256 tokens.
    auto test_ppl = [&](const std::string& file) {
        const auto model = llm::load_model(file);
        const auto tok = llm::load_text_tokenizer(file);
        std::vector<int32_t> test = tok->encode(split_corpus(load_text_corpus().documents).test, true);
        test.resize(std::min<size_t>(test.size(), 16 * 256));
        llm::SessionOptions so;
        so.n_ctx = 256;
        llm::Session session(*model, so);
        return llm::compute_perplexity(session, test, 256, {}, model->config.bos_token).ppl;
    };
    // A scratch folder for one compressed tinylm; nullopt when tinylm or the corpus is missing.
    auto scratch_for_tinylm = [&]() -> std::optional<std::filesystem::path> {
        namespace fs = std::filesystem;
        if (!fs::exists(models + "tinylm.gguf") || !load_text_corpus().missing_sources.empty()) return std::nullopt;
        const fs::path dir = fs::temp_directory_path() / ("tern-demo-q-" + std::to_string(::getpid()));
        fs::create_directories(dir);
        return dir;
    };
    // tinylm quantized by `method` into `format` (calibrated on 1024 train-split
    // tokens where the method calibrates), judged on 16 test-split windows.
    auto quantized_test_ppl = [&](const std::string& method, const std::string& format,
                                  const std::function<void(quant::QuantRecipe&)>& adjust) {
        const auto dir = scratch_for_tinylm();
        if (!dir) return std::nan("");
        quant::QuantizeFileRequest req;
        req.input = models + "tinylm.gguf";
        req.output = (*dir / "q.gguf").string();
        req.format_name = format;
        req.recipe.method = method;
        const std::optional<GgufMix> mix = gguf_mix_by_name(format);
        req.recipe.format = &format_by_name(mix ? std::string(dtype_name(mix->base)) : format);
        req.recipe.mix = mix;
        req.recipe.calibration.n_tokens = 1024;
        req.recipe.calibration.ctx = 128;
        if (adjust) adjust(req.recipe);
        quant::quantize_file(req);
        const double ppl = test_ppl(req.output);
        std::filesystem::remove_all(*dir);
        return ppl;
    };
    // tinylm's block Linears pruned to 50 % by `method` (calibrated as above).
    auto pruned_test_ppl = [&](const std::string& method) {
        const auto dir = scratch_for_tinylm();
        if (!dir) return std::nan("");
        prune::PruneFileRequest req{.input = models + "tinylm.gguf", .output = (*dir / "p.gguf").string(), .recipe = {}};
        req.recipe.method = method;
        req.recipe.sparsity = 0.5;
        req.recipe.calibration.calib = method == "magnitude" ? "" : "text:train";
        req.recipe.calibration.n_tokens = 1024;
        req.recipe.calibration.ctx = 128;
        prune::prune_file(req);
        const double ppl = test_ppl(req.output);
        std::filesystem::remove_all(*dir);
        return ppl;
    };
    const auto blocks_only = [](quant::QuantRecipe& r) { r.skip_roles = {io::TensorRole::token_embd, io::TensorRole::output}; };

    rows.push_back(timed("gptq", [&] {
        // The blocks' Linears of tinylm to 3 bits: round to nearest vs GPTQ.
        const double rtn = quantized_test_ppl("rtn", "int3g128", blocks_only);
        if (std::isnan(rtn)) return std::string("tinylm or the text corpus not installed");
        return "tinylm blocks to int3g128, test-split ppl: rtn " + fmt_fixed(rtn, 2) + ", gptq " +
               fmt_fixed(quantized_test_ppl("gptq", "int3g128", blocks_only), 2) + " (calibrated on 1024 train-split tokens)";
    }));

    rows.push_back(timed("imatrix", [&] {
        // llama.cpp's importance-weighted block search, where rounding hurts most (2 bits).
        const double plain = quantized_test_ppl("rtn", "q2_k", {});
        if (std::isnan(plain)) return std::string("tinylm or the text corpus not installed");
        return "tinylm to q2_k, test-split ppl: plain " + fmt_fixed(plain, 2) + ", imatrix " +
               fmt_fixed(quantized_test_ppl("imatrix", "q2_k", {}), 2) + " (llama.cpp's bytes for the same statistics)";
    }));

    rows.push_back(timed("smoothquant", [&] {
        // int8 weights x int8 activations with one static scale per tensor: outliers
        // hurt naive W8A8; SmoothQuant moves them into the weights first.
        const auto static_scale = [](quant::QuantRecipe& r) { r.static_act_scale = true; };
        const double naive = quantized_test_ppl("rtn", "w8a8", static_scale);
        if (std::isnan(naive)) return std::string("tinylm or the text corpus not installed");
        const double smooth = quantized_test_ppl("smoothquant", "w8a8", [](quant::QuantRecipe& r) {
            r.static_act_scale = true;
            r.smooth_alpha = 0.8;
        });
        return "tinylm to w8a8 (static per-tensor activation scales), test-split ppl: naive " + fmt_fixed(naive, 2) +
               ", smoothquant (alpha 0.8) " + fmt_fixed(smooth, 2);
    }));

    rows.push_back(timed("prune", [&] {
        // Half of every block Linear's weights set to zero: by magnitude, and by
        // SparseGPT, which updates the weights it keeps to make up for the rest.
        const double magnitude = pruned_test_ppl("magnitude");
        if (std::isnan(magnitude)) return std::string("tinylm or the text corpus not installed");
        return "tinylm blocks 50 % sparse, test-split ppl: magnitude " + fmt_fixed(magnitude, 2) + ", wanda " +
               fmt_fixed(pruned_test_ppl("wanda"), 2) + ", sparsegpt " + fmt_fixed(pruned_test_ppl("sparsegpt"), 2) +
               " (dense " + fmt_fixed(test_ppl(models + "tinylm.gguf"), 2) + ")";
    }));

    rows.push_back(timed("2:4 sparse file", [&] {
        // 2:4 pruning (SparseGPT) written in tern's sparse storage: int8 codes of
        // the kept half + 2-bit positions, next to the same model in dense int8.
        namespace fs = std::filesystem;
        const auto dir = scratch_for_tinylm();
        if (!dir) return std::string("tinylm or the text corpus not installed");
        prune::PruneFileRequest req{.input = models + "tinylm.gguf", .output = (*dir / "p24.gguf").string(), .recipe = {}};
        req.recipe.method = "sparsegpt";
        req.recipe.pattern = prune::NmPattern{2, 4};
        req.recipe.calibration.calib = "text:train";
        req.recipe.calibration.n_tokens = 1024;
        req.recipe.calibration.ctx = 128;
        prune::prune_file(req);
        auto store = [&](const std::string& format) {
            quant::QuantizeFileRequest q;
            q.input = req.output;
            q.output = (*dir / (format + ".gguf")).string();
            q.format_name = format;
            q.recipe.method = "rtn";
            q.recipe.format = &format_by_name(format);
            quant::quantize_file(q);
            return q.output;
        };
        const std::string sparse = store("sparse24_q8"), dense = store("w8a8");
        const double mib_sparse = double(fs::file_size(sparse)) / (1 << 20), mib_dense = double(fs::file_size(dense)) / (1 << 20);
        const std::string out = "tinylm 2:4 (sparsegpt, 1024 train-split tokens): sparse24_q8 " + fmt_fixed(mib_sparse, 2) +
                                " MiB vs w8a8 " + fmt_fixed(mib_dense, 2) + " MiB, test-split ppl " +
                                fmt_fixed(test_ppl(sparse), 2) + " (w8a8 " + fmt_fixed(test_ppl(dense), 2) + ")";
        fs::remove_all(*dir);
        return out;
    }));
    rows.push_back(timed("kmeans", [&] { return demo_kmeans(models); }));
    rows.push_back(timed("distill", [&] { return demo_distill(models); }));
    rows.push_back(timed("qat + distill", [&] { return demo_qat_distill(models); }));
    rows.push_back(timed("search", [] { return demo_search(); }));

    rows.push_back(timed("batched decode", [&] {
        // One weight read serves every sequence of a decode step.
        const std::string path = models + "tinylm.gguf";
        if (!std::filesystem::exists(path)) return "not found: " + path;
        LlmBenchOptions bo;
        bo.model = path;
        bo.prompt = 16;
        bo.gen = 32;
        bo.reps = 1;
        bo.parallel = {1, 8};
        const auto res = run_llm_bench(bo, {default_pool().size()});
        if (res.size() != 2) return std::string("n/a");
        return "tinylm: 1 sequence " + fmt_fixed(res[0].decode_tps, 0) + " tokens/s, 8 together " +
               fmt_fixed(res[1].decode_tps, 0) + " tokens/s (" + fmt_fixed(res[1].decode_tps / res[0].decode_tps, 1) +
               "x)";
    }));

    rows.push_back(timed("quantize a model", [] {
        // A llama-block-shaped set of weights (random, like llama.cpp's speed
        // models) written as GGUF, quantized by RTN to q4_k, written and read back.
        namespace fs = std::filesystem;
        const fs::path dir = fs::temp_directory_path() / ("tern-demo-" + std::to_string(::getpid()));
        fs::create_directories(dir);
        std::mt19937_64 rng(1);
        std::normal_distribution<float> normal(0.0f, 0.02f);
        std::vector<NamedTensor> weights;
        for (const char* name : {"blk.0.attn_q.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight"}) {
            std::vector<float> v(512 * 1536);
            for (auto& x : v) x = normal(rng);
            weights.push_back({name, Tensor::from_floats({1536, 512}, v)});
        }
        weights.push_back({"blk.0.attn_norm.weight", Tensor::from_floats({512}, std::vector<float>(512, 1.0f))});
        const std::string in = (dir / "f32.gguf").string(), out = (dir / "q4_k.gguf").string();
        io::write_gguf(in, {{"general.architecture", io::GgufValue::of_string("llama")}}, weights);
        QuantizeOptions qo;
        qo.format = &format_by_name("q4_k");
        qo.measure_error = true;
        std::vector<QuantizeReportRow> report;
        io::write_gguf(out, {{"general.architecture", io::GgufValue::of_string("llama")}},
                       quantize_tensors_rtn(io::read_gguf(in).tensors, qo, report));
        const io::GgufModel back = io::read_gguf(out);
        double worst = 0;
        for (const auto& r : report) worst = std::max(worst, r.rel_rms);
        const double ratio = double(fs::file_size(in)) / double(fs::file_size(out));
        fs::remove_all(dir);
        return "f32 GGUF -> q4_k GGUF: " + fmt_fixed(ratio, 2) + "x smaller, worst tensor rel. RMS error " +
               fmt_fixed(worst, 4) + ", " + std::to_string(back.tensors.size()) + " tensors read back";
    }));

    rows.push_back(timed("kernel speed", [] {
        std::string out;
        for (const auto& r : run_kernel_benchmarks(/*quick=*/true)) {
            if (r.kernel == "stream_read") out += "read " + fmt_fixed(r.gbps, 1) + " GB/s; ";
            if (r.kernel == "peak_fma") out += "fp32 FMA peak " + fmt_fixed(r.gops, 0) + " GFLOP/s; ";
            if (r.kernel == "peak_dpbusd") out += "int8 VNNI peak " + fmt_fixed(r.gops, 0) + " GOP/s; ";
            if (r.kernel == "peak_maddubs") out += "int8 (maddubs) peak " + fmt_fixed(r.gops, 0) + " GOP/s; ";
            if (r.kernel.find("rmsnorm") != std::string::npos)
                out += "rmsnorm " + fmt_fixed(100 * r.peak_fraction, 0) + "% of bandwidth; ";
            if (r.dtype == "u8s8" && r.m == 512 && r.n == 2048 && r.k == 2048)
                out += "int8 GEMM 512x2048x2048 " + fmt_fixed(r.gops, 0) + " GOP/s; ";
            if (r.dtype == "q4_k" && r.m == 1)
                out += "q4_k GEMV " + fmt_fixed(r.gbps, 1) + " GB/s";
        }
        return out;
    }));

    TextTable table({"step", "result", "seconds"});
    for (const auto& r : rows) table.add_row({r.step, r.result, fmt_fixed(r.seconds, 3)});
    table.print();
    if (!lm_sample.empty()) std::printf("\ntinylm sample (temperature 0.7, seed 42):\n%s\n", lm_sample.c_str());
}

}  // namespace

void add_demo_command(CLI::App& app) {
    auto threads = std::make_shared<int>(0);
    auto* cmd = app.add_subcommand("demo", "The whole pipeline on the embedded default models");
    add_threads_option(*cmd, *threads);
    cmd->callback([threads] { run_demo(*threads); });
}

}  // namespace tern::cli
