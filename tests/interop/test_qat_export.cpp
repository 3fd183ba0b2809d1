// QAT models exported as integer-only QDQ graphs (interop/qat_graph.h): tern's
// integer runtime (after qdq_fuse) and ONNX Runtime give the fake-quant
// model's predictions; LSQ's -2^(b-1) codes and a negative BatchNorm gamma
// survive exactly; a QAT file with a missing scale is one line and exit 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli/cli_runner.h"
#include "export_test_util.h"
#include "graph/executor.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "graph/qdq_fuse.h"
#include "graph/ort_reference.h"
#include "interop/qat_graph.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "nn/autograd.h"
#include "nn/models/conv_bn_pairs.h"
#include "nn/models/lenet.h"
#include "nn/models/zoo.h"
#include "nn/modules/conv.h"
#include "nn/modules/fake_quant.h"
#include "nn/modules/linear.h"
#include "nn/modules/norm.h"
#include "nn/random.h"
#include "nn/train/model_file.h"
#include "nn/train/recipe.h"

namespace tern::testinterop {
namespace {

// Images shaped like normalised Fashion-MNIST ones (about -0.8 .. 2).
Tensor qat_export_images(int64_t n, uint64_t seed) {
    nn::Rng rng(seed);
    Tensor x = Tensor::empty({n, 1, 28, 28});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = rng.uniform() < 0.5 ? -0.8f : rng.uniform(-0.8f, 2.0f);
    return x;
}

// A zoo model with calibrated quantizers, LSQ weight steps shrunk so many codes
// sit at the grid's ends (-8 and 7 at 4 bits), and BatchNorm statistics with a
// negative gamma on channel 0 of every BN.
std::shared_ptr<nn::UnaryModule> qat_model(const std::string& name, const nn::FakeQuantSpec& spec) {
    auto model = nn::models::make_model(name, 3, 1, 10);
    nn::attach_fake_quant(*model, spec);
    nn::Rng rng(11);
    nn::visit_modules(*model, [&](const std::string&, nn::Module& m) {
        auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m);
        if (!bn) return;
        for (int64_t c = 0; c < bn->weight.numel(); ++c) {
            bn->weight.data()[c] = rng.uniform(0.5f, 1.5f) * (c == 0 ? -1.f : 1.f);
            bn->bias.data()[c] = rng.uniform(-0.2f, 0.2f);
            bn->running_mean.data<float>()[c] = rng.uniform(-0.1f, 0.1f);
            bn->running_var.data<float>()[c] = rng.uniform(0.5f, 2.0f);
        }
    });
    if (spec.fold_bn) nn::models::fold_batch_norms_into_quantizers(*model, "test");
    model->eval();
    const auto layers = nn::fake_quant_layers(*model);
    for (const auto& [layer, q] : layers) q->calibrating = true;
    {
        nn::NoGradGuard no_grad;
        model->forward(nn::Var(qat_export_images(16, 5)));
    }
    for (const auto& [layer, q] : layers) q->finish_calibration(layer);
    nn::visit_modules(*model, [&](const std::string&, nn::Module& m) {
        nn::LayerFakeQuant* q = nullptr;
        Tensor w;
        if (auto* c = dynamic_cast<nn::Conv2d*>(&m); c && c->fake_quant) q = c->fake_quant.get(), w = c->weight.value();
        if (auto* l = dynamic_cast<nn::Linear*>(&m); l && l->fake_quant) q = l->fake_quant.get(), w = l->weight.value();
        if (!q) return;
        q->init_weight_scale(q->folded_weight(w));
        if (spec.method == "lsq")
            for (int64_t c = 0; c < q->weight_scale.numel(); ++c) q->weight_scale.data()[c] *= 0.6f;
    });
    return model;
}

Tensor fake_quant_logits(nn::UnaryModule& model, const Tensor& x) {
    nn::NoGradGuard no_grad;
    return model.forward(nn::Var(x)).value().contiguous();
}

Tensor run_graph(const graph::Graph& g, const Tensor& x) {
    return graph::Executor(g).run({{"image", x}}).at("logits").contiguous();
}

std::map<std::string, int> op_counts(const graph::Graph& g) {
    std::map<std::string, int> ops;
    for (const auto& n : g.nodes) ++ops[n.op_type];
    return ops;
}

// The largest logit gap a one-code difference somewhere upstream explains: a few
// hundredths of the logits' spread (the fake-quant model sums in float, the
// integer runtime in int32 and requantizes, so a rare tie rounds the other way).
// At 4-bit activations one code is 1/15 of a layer's range, so the bound is wider.
void expect_same_predictions(const Tensor& got, const Tensor& want, const std::string& what, double fraction = 0.05) {
    EXPECT_EQ(predictions(got), predictions(want)) << what;
    float spread = 0;
    for (int64_t i = 0; i < want.numel(); ++i) spread = std::max(spread, std::fabs(want.data<float>()[i]));
    double worst = 0;
    for (int64_t i = 0; i < want.numel(); ++i)
        worst = std::max<double>(worst, std::fabs(got.data<float>()[i] - want.data<float>()[i]));
    EXPECT_LE(worst, fraction * spread) << what << ": logits differ by " << worst << " (largest |logit| " << spread << ")";
}

TEST(QatExport, LeNet5BnRunsIntegerOnlyWithTheLearnedCodes) {
    nn::FakeQuantSpec spec;  // lsq W4A8 per channel
    auto model = qat_model("lenet5_bn", spec);
    interop::QatGraphReport report;
    const graph::Graph g = interop::qat_classifier_graph(*model, "lenet5_bn", 1, 28, 28, "test", &report);
    EXPECT_EQ(report.qdq_layers, 4);      // conv1, conv2, fc1, fc2 feed the next layer's grid
    EXPECT_EQ(report.integer_layers, 1);  // fc3: the logits
    EXPECT_EQ(report.folded_batch_norms, 2);
    EXPECT_GT(report.negated_channels, 0);

    // conv1's codes: the -8 the 4-bit LSQ grid allows in ordinary channels, and
    // in the negated channel 0 the sign-flipped codes, exactly.
    const Tensor codes = g.initializers.at("conv1_W_quantized").contiguous();
    const Tensor steps = g.initializers.at("conv1_W_scale").contiguous();
    auto* conv1 = dynamic_cast<nn::models::LeNet5*>(model.get())->conv1.get();
    const Tensor wq = [&] {
        nn::NoGradGuard no_grad;
        return conv1->fake_quant->weight(nn::Var(conv1->weight.value())).value().contiguous();
    }();
    const int64_t inner = codes.numel() / codes.dim(0);
    bool minus8 = false, plus8 = false;
    auto* bn1 = dynamic_cast<nn::models::LeNet5*>(model.get())->bn1.get();
    for (int64_t c = 0; c < codes.dim(0); ++c) {
        const float s = conv1->fake_quant->weight_scale.data()[c];
        const float factor = bn1->weight.data()[c] / std::sqrt(bn1->running_var.data<float>()[c] + bn1->eps);
        EXPECT_NEAR(steps.data<float>()[c], s * std::fabs(factor), 1e-6 * s) << c;
        for (int64_t k = 0; k < inner; ++k) {
            const int8_t q = codes.data<int8_t>()[c * inner + k];
            const float code = wq.data<float>()[c * inner + k] / s;  // the fake-quant forward's code
            EXPECT_EQ(static_cast<float>(q), factor < 0 ? -code : code) << c << " " << k;
            minus8 |= q == -8;
            plus8 |= q == 8;
        }
    }
    EXPECT_TRUE(minus8);
    EXPECT_TRUE(plus8);  // a -8 in the negated channel

    // Integer-only after qdq_fuse: no float Conv / Gemm / MatMul left.
    graph::QdqFuseStats stats;
    const graph::Graph fused = graph::fuse_qdq(g, &stats);
    const auto ops = op_counts(fused);
    EXPECT_EQ(stats.convs + stats.gemms, 4);
    EXPECT_EQ(ops.count("Conv") + ops.count("Gemm") + ops.count("MatMul"), 0u);
    EXPECT_EQ(ops.at("QLinearConv"), 4);
    EXPECT_EQ(ops.at("MatMulInteger"), 1);

    const Tensor x = qat_export_images(8, 21);
    expect_same_predictions(run_graph(fused, x), fake_quant_logits(*model, x), "lenet5_bn integer");
    // The ONNX file round trip keeps it.
    testio::TempDir dir;
    graph::export_onnx_file(g, dir.file("q.onnx"));
    expect_same_predictions(run_graph(graph::fuse_qdq(graph::import_onnx_file(dir.file("q.onnx"))), x),
                            fake_quant_logits(*model, x), "lenet5_bn from the file");
}

TEST(QatExport, MobileNetV2TinyKeepsResidualsFloatAndMacsInteger) {
    auto model = qat_model("mobilenetv2_tiny", nn::FakeQuantSpec{});
    interop::QatGraphReport report;
    const graph::Graph g = interop::qat_classifier_graph(*model, "mobilenetv2_tiny", 1, 28, 28, "test", &report);
    EXPECT_GT(report.qdq_layers, 0);
    EXPECT_GT(report.integer_layers, 1);  // residual-feeding projections, the head (pooled in float), the classifier
    const graph::Graph fused = graph::fuse_qdq(g);
    const auto ops = op_counts(fused);
    EXPECT_EQ(ops.count("Conv") + ops.count("Gemm") + ops.count("MatMul"), 0u);
    const Tensor x = qat_export_images(6, 22);
    expect_same_predictions(run_graph(fused, x), fake_quant_logits(*model, x), "mobilenetv2_tiny integer");
}

TEST(QatExport, PactAndSteGridsIncludingFourBitActivations) {
    for (const char* method : {"pact", "ste"})
        for (int act_bits : {8, 4}) {  // 4: narrower than the uint8 container, a Clip of the codes
            nn::FakeQuantSpec spec;
            spec.method = method;
            spec.act_bits = act_bits;
            auto model = qat_model("lenet5_bn", spec);
            const graph::Graph g = interop::qat_classifier_graph(*model, "lenet5_bn", 1, 28, 28, "test");
            const graph::Graph fused = graph::fuse_qdq(g);
            const std::string what = std::string(method) + " A" + std::to_string(act_bits);
            EXPECT_EQ(op_counts(fused).count("Conv"), 0u) << what;
            if (act_bits == 4) EXPECT_GT(op_counts(fused).at("Clip"), 0) << what;
            const Tensor x = qat_export_images(8, 23);
            expect_same_predictions(run_graph(fused, x), fake_quant_logits(*model, x), what, act_bits == 8 ? 0.05 : 0.2);
        }
}

TEST(QatExport, BatchNormFoldedDuringTrainingIsTheDeployedGrid) {
    for (const char* name : {"lenet5_bn", "mobilenetv2_tiny"}) {
        nn::FakeQuantSpec spec;
        spec.fold_bn = true;
        auto model = qat_model(name, spec);
        interop::QatGraphReport report;
        const graph::Graph g = interop::qat_classifier_graph(*model, name, 1, 28, 28, "test", &report);
        EXPECT_EQ(report.negated_channels, 0) << name;  // the trained codes carry gamma's sign already
        const graph::Graph fused = graph::fuse_qdq(g);
        EXPECT_EQ(op_counts(fused).count("Conv"), 0u) << name;
        const Tensor x = qat_export_images(8, 25);
        expect_same_predictions(run_graph(fused, x), fake_quant_logits(*model, x), name);
    }
    // The deployed weight of conv1 is the fake-quant forward's w * gamma / sigma, code for code.
    nn::FakeQuantSpec spec;
    spec.fold_bn = true;
    auto model = qat_model("lenet5_bn", spec);
    const graph::Graph g = interop::qat_classifier_graph(*model, "lenet5_bn", 1, 28, 28, "test");
    auto* conv1 = dynamic_cast<nn::models::LeNet5*>(model.get())->conv1.get();
    const Tensor wq = [&] {
        nn::NoGradGuard no_grad;
        return conv1->fake_quant->weight(nn::Var(conv1->fake_quant->folded_weight(conv1->weight.value()))).value().contiguous();
    }();
    const Tensor codes = g.initializers.at("conv1_W_quantized").contiguous();
    const Tensor steps = g.initializers.at("conv1_W_scale").contiguous();
    const int64_t inner = codes.numel() / codes.dim(0);
    for (int64_t i = 0; i < codes.numel(); ++i)
        EXPECT_EQ(codes.data<int8_t>()[i] * steps.data<float>()[i / inner], wq.data<float>()[i]) << i;
}

TEST(QatExport, FoldBnModelFileReloadsAndExports) {
    testio::TempDir dir;
    nn::FakeQuantSpec spec;
    spec.fold_bn = true;
    auto model = qat_model("lenet5_bn", spec);
    const std::string path = dir.file("fold.safetensors");
    nn::train::save_classifier(path, *model, {{"tern.model", "lenet5_bn"}, {"tern.qat", nn::fake_quant_spec_json(spec)}});
    const auto f = nn::train::load_classifier(path);
    EXPECT_TRUE(nn::parse_fake_quant_spec(f.metadata.at("tern.qat"), path).fold_bn);
    const Tensor x = qat_export_images(4, 26);
    const Tensor a = fake_quant_logits(*model, x), b = fake_quant_logits(*f.model, x);
    for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(a.data<float>()[i], b.data<float>()[i]) << i;
    const auto r = testcli::run_tern("export " + path + " -o " + dir.file("fold.onnx"));
    EXPECT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.out.find("QAT W4A8 on its learned grid: 4 layers"), std::string::npos) << r.out;

    // The recipe key parses, round-trips, and takes booleans only.
    const std::string head = R"({"model": "lenet5_bn", "epochs": 1, "batch_size": 8, "optimizer": {"name": "sgd", "lr": 0.01},
        "init": "x.safetensors", "qat": )";
    const std::string text = head + R"({"fold_bn": true}})";
    const nn::train::Recipe parsed = nn::train::parse_recipe_json(text, "r.json");
    EXPECT_TRUE(parsed.qat.fold_bn);
    EXPECT_TRUE(nn::train::recipe_to_json(parsed)["qat"]["fold_bn"].get<bool>());
    EXPECT_THROW(nn::train::parse_recipe_json(head + R"({"fold_bn": 1}})", "r.json"), InputError);

    // fold_bn on a model without batch norm: one line naming the recipe, nothing written.
    if (!have_fashion_mnist()) return;
    const std::string recipe = dir.file("r.json"), init = dir.file("lenet5.safetensors");
    nn::train::save_classifier(init, *nn::models::make_model("lenet5", 1, 1, 10), {{"tern.model", "lenet5"}});
    std::ofstream(recipe) << R"({"model": "lenet5", "epochs": 1, "batch_size": 64, "train_subset": 256, "validation": 0,
        "optimizer": {"name": "sgd", "lr": 0.001}, "init": ")" << init << R"(", "qat": {"fold_bn": true}})";
    const auto t = testcli::run_tern("train " + recipe + " --out " + dir.file("m.safetensors"));
    EXPECT_EQ(t.code, 1) << t.all();
    EXPECT_NE(t.err.find("qat.fold_bn: model 'lenet5' has no convolution followed by batch norm"), std::string::npos) << t.err;
    EXPECT_EQ(std::count(t.err.begin(), t.err.end(), '\n'), 1) << t.err;
    EXPECT_FALSE(std::filesystem::exists(dir.file("m.safetensors")));
}

TEST(QatExport, OnnxRuntimeAgrees) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    testio::TempDir dir;
    const Tensor x = qat_export_images(8, 24);
    write_npy(dir.file("x.npy"), x);
    for (const char* name : {"lenet5_bn", "mobilenetv2_tiny"}) {
        auto model = qat_model(name, nn::FakeQuantSpec{});
        const graph::Graph g = interop::qat_classifier_graph(*model, name, 1, 28, 28, "test");
        const std::string file = dir.file(std::string(name) + ".onnx");
        graph::export_onnx_file(g, file);
        const auto r = testref::ort_run(file, {{"image", dir.file("x.npy")}}, dir.file(std::string(name) + "_ort"));
        ASSERT_EQ(r.outputs.size(), 1u) << name;
        const Tensor ort = read_npy(r.outputs[0].file);
        expect_same_predictions(ort, fake_quant_logits(*model, x), std::string(name) + " in ONNX Runtime");
        expect_same_predictions(ort, run_graph(graph::fuse_qdq(g), x), std::string(name) + " ONNX Runtime vs tern");
    }
}

TEST(QatExport, MissingScaleIsOneLineExitOneAndNoFile) {
    testio::TempDir dir;
    // A fp32 model's tensors under tern.qat metadata: the quantizers' scales are missing.
    auto plain = nn::models::make_model("lenet5", 1, 1, 10);
    const std::string bad = dir.file("bad.safetensors"), out = dir.file("q.onnx");
    nn::train::save_classifier(bad, *plain, {{"tern.model", "lenet5"}, {"tern.qat", nn::fake_quant_spec_json({})}});
    const auto r = testcli::run_tern("export " + bad + " -o " + out);
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("qat."), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace tern::testinterop
