// tern eval MODEL.safetensors --data fashion-mnist [--data-dir DIR] [-t N] [--json]
// tern eval MODEL.onnx|.tflite --data fashion-mnist [--data-dir DIR] [-t N] [--json]
// tern eval MODEL.gguf --data text[:test|:validation|:train] | --data FILE.txt [-c N] [--chunks N] [--fpmath M]
//           [--kl-base BASE.gguf] [--json]
// Classifiers written by `tern train`: test-set loss, accuracy and per-class
// accuracy (the model is rebuilt from the zoo by its tern.model name).
// Graph models (e.g. `tern export` or `tern quantize ... -o M.onnx` of them):
// the same on the graph runtime, QDQ models integer-only through qdq_fuse.
// Language models (any model the LLM runtime loads, e.g. models/tinylm.gguf):
// perplexity in llama.cpp's definition on a split of the text corpus the
// embedded model was trained on (split by document, see io/text_corpus.h) or
// on a text file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/context_limits.h"
#include "cli/option_ranges.h"
#include "cli/llm_options.h"
#include "cli/nonfinite_flag.h"
#include "core/json_out.h"
#include "graph/executor.h"
#include "graph/model_file.h"
#include "graph/qdq_fuse.h"
#include "core/mapped_file.h"
#include "core/read_file.h"
#include "io/model_container.h"
#include "core/table.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"
#include "core/checked.h"
#include "core/error.h"
#include "io/text_corpus.h"
#include "llm/forward.h"
#include "llm/kl_divergence.h"
#include "llm/perplexity.h"
#include "llm/text_tokenizer.h"
#include <filesystem>

namespace tern::cli {
namespace {

using namespace tern::nn::train;

struct EvalCliOptions {
    std::string model;
    std::string data;  // empty: fashion-mnist for classifiers, text:test for language models
    std::string data_dir;
    bool json = false;
    bool allow_nonfinite = false;
    int threads = 0;
    int64_t ctx = 0;     // language models: window (0: the model's context, at most 512)
    int64_t chunks = 0;  // language models: at most this many windows (0: all)
    std::string fpmath = "auto";  // language models: --fpmath
    std::string kl_base;          // language models: --kl-base, the model to compare with
};

// By content (GGUF: a language model; safetensors: a classifier), so an empty or
// foreign file is reported as such before either loader reads it.
bool is_language_model_file(const std::string& path) {
    if (std::filesystem::is_directory(path)) return false;
    const auto f = MappedFile::open(path);
    return io::detect_model_container({f->data(), f->size()}, path) == io::ModelContainer::gguf;
}

// The image datasets a classifier is evaluated on (see nn/train/trainer.h's load_test_data).
bool is_image_dataset(const std::string& data) { return data == "fashion-mnist"; }
bool is_text_corpus(const std::string& data) { return data.rfind("text", 0) == 0 && (data.size() == 4 || data[4] == ':'); }

// The text a language model is evaluated on: "text:<split>" of the corpus, or a file.
std::string eval_text(const std::string& data) {
    if (is_text_corpus(data)) {
        const std::string split = data.size() == 4 ? "test" : data.substr(5);
        const TextCorpus c = load_text_corpus();
        if (!c.missing_sources.empty())
            throw InputError("--data", "the text corpus is not installed (run scripts/setup.sh)");
        const CorpusSplits s = split_corpus(c.documents);
        if (split == "test") return s.test;
        if (split == "validation") return s.validation;
        if (split == "train") return s.train;
        throw InputError("--data", "unknown split '" + split + "' (test, validation, train)");
    }
    if (!std::filesystem::exists(data)) throw IoError(data, "no such text file (or use --data text:test)");
    return read_whole_file(data);
}

// --kl-base: the base model (same tokenizer) over the same windows as the model.
void report_kl(const EvalCliOptions& o, const std::string& data, int64_t ctx, llm::Session& session,
               const llm::SessionOptions& so, std::span<const int32_t> tokens, int32_t bos) {
    llm::LoadOptions lo = load_options_for(o.fpmath);
    lo.allow_nonfinite = o.allow_nonfinite;
    const auto base = llm::load_model(o.kl_base, lo);
    if (base->config.n_vocab != session.n_vocab())
        throw InputError(o.kl_base, format("--kl-base has a vocabulary of %lld tokens, the model %lld",
                                           (long long)base->config.n_vocab, (long long)session.n_vocab()));
    check_context(*base, so.n_ctx, so.kv_type);
    llm::Session base_session(*base, so);
    const llm::KlDivergenceResult r = llm::compute_kl_divergence(base_session, session, tokens, ctx, bos);
    if (o.json) {
        const Json j = {{"model", o.model}, {"kl_base", o.kl_base}, {"data", data}, {"ppl", r.ppl_model},
                        {"ppl_base", r.ppl_base}, {"kl_mean", r.mean_kl}, {"kl_median", r.median_kl}, {"kl_p99", r.p99_kl},
                        {"kl_max", r.max_kl}, {"same_top_token", r.same_top_token}, {"scored", r.n_scored},
                        {"windows", r.n_windows}, {"ctx", ctx}, {"fpmath", o.fpmath}, {"seconds", r.seconds}};
        print_json(j);
        return;
    }
    std::printf("%s on %s, %lld scored tokens (%lld windows of %lld): ppl %.4f, base %.4f (%+.3f%%)\n"
                "KL divergence to %s: mean %.6f, median %.6f, p99 %.6f, max %.4f; same top token %.2f%%; %.2fs\n",
                o.model.c_str(), data.c_str(), static_cast<long long>(r.n_scored), static_cast<long long>(r.n_windows),
                static_cast<long long>(ctx), r.ppl_model, r.ppl_base, 100 * (r.ppl_model / r.ppl_base - 1),
                o.kl_base.c_str(), r.mean_kl, r.median_kl, r.p99_kl, r.max_kl, 100 * r.same_top_token, r.seconds);
}

void run_eval_lm(const EvalCliOptions& o) {
    // Evaluating a language model on images would silently measure something else.
    if (is_image_dataset(o.data))
        throw UsageError("--data", "a language model needs text data (text[:test|:validation|:train] or a text file), "
                                   "not the image dataset '" + o.data + "'");
    const std::string data = o.data.empty() ? "text:test" : o.data;
    llm::LoadOptions lo = load_options_for(o.fpmath);
    lo.allow_nonfinite = o.allow_nonfinite;
    const auto model = llm::load_model(o.model, lo);
    const auto tok = llm::load_text_tokenizer(o.model);
    if (!tok) throw InputError(o.model, "the model has no tokenizer; use tern perplexity --tokens-file");
    const std::vector<int32_t> ids = tok->encode(eval_text(data), true);
    const int64_t ctx = o.ctx > 0 ? o.ctx : std::min<int64_t>(512, model->config.n_ctx_train > 0 ? model->config.n_ctx_train : 512);
    std::vector<int32_t> used = ids;
    if (o.chunks > 0) {
        const int64_t limit = checked_mul<UsageError>(o.chunks, ctx, "--chunks");  // windows x tokens per window
        if (static_cast<int64_t>(used.size()) > limit) used.resize(static_cast<size_t>(limit));
    }
    llm::SessionOptions so;
    so.n_ctx = ctx;
    so.kv_type = ops::KvType::f16;
    so.n_seq = llm::perplexity_windows_per_pass(ctx, static_cast<int64_t>(used.size()));
    check_context(*model, so.n_ctx, so.kv_type);
    llm::Session session(*model, so);
    const int32_t bos = !ids.empty() && ids.front() == model->config.bos_token ? model->config.bos_token : -1;
    if (!o.kl_base.empty()) return report_kl(o, data, ctx, session, so, used, bos);
    const llm::PerplexityResult r = llm::compute_perplexity(session, used, ctx, {}, bos);
    if (o.json) {
        const Json j = {{"model", o.model}, {"data", data}, {"ppl", r.ppl}, {"tokens", r.n_tokens},
                        {"scored", r.n_scored}, {"windows", r.n_windows}, {"ctx", ctx}, {"fpmath", o.fpmath}, {"seconds", r.seconds}};
        print_json(j);
        return;
    }
    std::printf("%s on %s: ppl %.4f over %lld scored tokens (%lld windows of %lld, llama.cpp's definition), %.2fs\n",
                o.model.c_str(), data.c_str(), r.ppl, static_cast<long long>(r.n_scored),
                static_cast<long long>(r.n_windows), static_cast<long long>(ctx), r.seconds);
}

// Fashion-MNIST's class names, in label order.
const char* fashion_class_name(size_t k) {
    static const char* names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return k < 10 ? names[k] : "?";
}

// A graph model's logits over the test split, in batches, as an EvalResult.
EvalResult evaluate_graph(const graph::Graph& g, const data::ImageDataset& test, const std::string& model) {
    if (g.inputs.size() != 1 || g.outputs.empty())
        throw InputError(model, format("a classifier graph takes one image input and gives logits; this one has %zu inputs",
                                       g.inputs.size()));
    const graph::Executor exec(g);
    constexpr int64_t kBatch = 500;
    EvalResult r;
    r.class_total.assign(static_cast<size_t>(test.num_classes), 0);
    r.class_correct.assign(static_cast<size_t>(test.num_classes), 0);
    double loss = 0;
    for (int64_t b = 0; b < test.size(); b += kBatch) {
        const int64_t rows = std::min(kBatch, test.size() - b);
        const Tensor x = Tensor::from_floats({rows, test.channels(), test.height(), test.width()},
                                             std::span<const float>(test.image(b), static_cast<size_t>(rows * test.image_numel())));
        Tensor logits;
        try {
            logits = exec.run({{g.inputs[0], x}}).at(g.outputs[0]).contiguous();
        } catch (const InputError& e) {
            throw InputError(model, e.detail());
        }
        if (logits.dtype() != DType::f32 || logits.rank() != 2 || logits.dim(0) != rows || logits.dim(1) != test.num_classes)
            throw InputError(model, "output '" + g.outputs[0] + "' is " + shape_to_string(logits.shape()) + ", not f32 (N, " +
                                        std::to_string(test.num_classes) + ") logits");
        for (int64_t i = 0; i < rows; ++i) {
            const float* z = logits.data<float>() + i * test.num_classes;
            const int32_t label = test.labels[static_cast<size_t>(b + i)];
            const int64_t best = std::max_element(z, z + test.num_classes) - z;
            double m = z[best], sum = 0;
            for (int64_t k = 0; k < test.num_classes; ++k) sum += std::exp(z[k] - m);
            loss += m + std::log(sum) - z[label];
            r.class_total[static_cast<size_t>(label)] += 1;
            if (best == label) r.class_correct[static_cast<size_t>(label)] += 1;
        }
    }
    r.count = test.size();
    int64_t correct = 0;
    for (auto c : r.class_correct) correct += c;
    r.accuracy = r.count ? static_cast<double>(correct) / static_cast<double>(r.count) : 0;
    r.loss = r.count ? loss / static_cast<double>(r.count) : 0;
    return r;
}

void run_eval(const EvalCliOptions& o) {
    apply_threads(o.threads);
    load_options_for(o.fpmath);  // a bad --fpmath is a usage error before anything loads
    const bool graph_model = graph::graph_file_format(o.model) != graph::GraphFileFormat::none;
    if (!graph_model && is_language_model_file(o.model)) return run_eval_lm(o);
    if (!o.kl_base.empty()) throw UsageError("--kl-base", "compares language models; " + o.model + " is a classifier");
    if (is_text_corpus(o.data))
        throw UsageError("--data", "a classifier needs image data (fashion-mnist), not the text corpus '" + o.data + "'");
    const std::string data = o.data.empty() ? "fashion-mnist" : o.data;
    ClassifierFile c;
    EvalResult r;
    if (graph_model) {
        // QDQ patterns run as integer QLinear ops, as `tern run` runs them.
        const graph::Graph g = graph::fuse_qdq(graph::import_graph_file(o.model));
        c.model_name = g.name;
        r = evaluate_graph(g, load_test_data(data, o.data_dir), o.model);
    } else {
        ClassifierLoadOptions lo;
        lo.allow_nonfinite = o.allow_nonfinite;
        c = load_classifier(o.model, lo);
        const data::ImageDataset test = load_test_data(data, o.data_dir);
        try {
            r = evaluate(*c.model, test);
        } catch (const InputError& e) {
            throw InputError(o.model, e.detail());  // name the model file, not "evaluate"
        }
    }
    if (o.json) {
        Json j;
        j["model"] = o.model;
        j["architecture"] = c.model_name;
        j["data"] = data;
        j["images"] = r.count;
        j["accuracy"] = r.accuracy;
        j["loss"] = r.loss;
        Json per = Json::array();
        for (size_t k = 0; k < r.class_total.size(); ++k)
            per.push_back({{"class", k},
                           {"name", fashion_class_name(k)},
                           {"images", r.class_total[k]},
                           {"accuracy", r.class_total[k] ? double(r.class_correct[k]) / double(r.class_total[k]) : 0.0}});
        j["per_class"] = per;
        print_json(j);
        return;
    }
    TextTable t({"class", "name", "images", "accuracy"});
    for (size_t k = 0; k < r.class_total.size(); ++k)
        t.add_row({std::to_string(k), fashion_class_name(k), std::to_string(r.class_total[k]),
                   fmt_fixed(r.class_total[k] ? 100.0 * double(r.class_correct[k]) / double(r.class_total[k]) : 0.0, 2) + "%"});
    t.print();
    std::printf("\n%s (%s) on %s test, %lld images: loss %.4f, accuracy %.2f%%\n", o.model.c_str(), c.model_name.c_str(),
                data.c_str(), static_cast<long long>(r.count), r.loss, 100 * r.accuracy);
}

}  // namespace

void add_eval_command(CLI::App& app) {
    auto o = std::make_shared<EvalCliOptions>();
    auto* cmd = app.add_subcommand("eval", "Test-set accuracy of a classifier, or perplexity of a language model");
    cmd->add_option("model", o->model, "classifier checkpoint (.safetensors from tern train), graph classifier (.onnx, .tflite) or language model (.gguf)")
        ->required();
    cmd->add_option("--data", o->data,
                    "fashion-mnist (classifiers); text[:test|:validation|:train] or a text file (language models)");
    cmd->add_option("-c,--ctx", o->ctx, "language models: window length (default: model context, at most 512)")
        ->check(int_range(4, kMaxCtx));
    cmd->add_option("--chunks", o->chunks, "language models: score at most this many windows")->check(int_range(1, kMaxCount));
    add_fpmath_option(*cmd, o->fpmath);
    cmd->add_option("--kl-base", o->kl_base,
                    "language models: also the KL divergence of the model's next-token distributions from this "
                    "base model's (e.g. the f16 file a quantized one came from; same tokenizer)");
    cmd->add_option("--data-dir", o->data_dir, "dataset folder (default: /usr/share/datasets/fashion-mnist)");
    cmd->add_flag("--json", o->json, "machine-readable report");
    add_allow_nonfinite_flag(*cmd, o->allow_nonfinite);
    add_threads_option(*cmd, o->threads);
    cmd->callback([o] { run_eval(*o); });
}

}  // namespace tern::cli
