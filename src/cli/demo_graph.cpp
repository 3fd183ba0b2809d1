#include "cli/demo_graph.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <vector>

#include "core/cache_dir.h"
#include "core/table.h"
#include "graph/model_file.h"
#include "graph/passes.h"
#include "graph/qdq_fuse.h"
#include "graph/prepared_executor.h"
#include "interop/classifier_graph.h"
#include "io/image.h"
#include "nn/autograd.h"
#include "nn/data/image_dataset.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"
#include "quant/graph_ptq.h"
#include "vision/ocr.h"

namespace tern::cli {
namespace {

namespace fs = std::filesystem;

// A private scratch folder removed on every way out.
struct ScratchDir {
    fs::path path;
    explicit ScratchDir(const std::string& tag)
        : path(fs::temp_directory_path() / ("tern-demo-" + tag + "-" + std::to_string(::getpid()))) {
        fs::create_directories(path);
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

int64_t argmax_row(const float* row, int64_t n) {
    return static_cast<int64_t>(std::max_element(row, row + n) - row);
}

// Test-split accuracy of a graph with one image input and one logits output, batches of 500.
double graph_test_accuracy(const graph::Graph& g, const data::ImageDataset& test) {
    const int64_t batch = 500, classes = test.num_classes;
    graph::PreparedExecutor exec(g, {{g.inputs[0], Shape{batch, test.channels(), test.height(), test.width()}}});
    int64_t correct = 0, count = 0;
    for (int64_t b0 = 0; b0 + batch <= test.size(); b0 += batch) {
        Tensor x = Tensor::empty({batch, test.channels(), test.height(), test.width()});
        std::memcpy(x.data<float>(), test.image(b0), static_cast<size_t>(batch * test.image_numel()) * sizeof(float));
        const auto out = exec.run({{g.inputs[0], x}});
        const float* logits = out.at(g.outputs[0]).data<float>();
        for (int64_t i = 0; i < batch; ++i, ++count) correct += argmax_row(logits + i * classes, classes) == test.labels[static_cast<size_t>(b0 + i)];
    }
    return static_cast<double>(correct) / static_cast<double>(count);
}

}  // namespace

namespace {

// The first n training images: the calibration set of the PTQ rows.
Tensor first_train_images(int64_t n) {
    const data::ImageDataset train = data::load_fashion_mnist("train");
    const Shape& s = train.images.shape();
    return Tensor::from_floats({n, s[1], s[2], s[3]},
                               std::span<const float>(train.image(0), static_cast<size_t>(n * train.image_numel())));
}

}  // namespace

std::string demo_graph_int8(const std::string& model_path) {
    if (!fs::exists(model_path)) return "not found: " + model_path;
    const graph::Graph fp32 = interop::load_classifier_graph(model_path);
    const data::ImageDataset test = nn::train::load_test_data("fashion-mnist");
    const double fp32_accuracy = graph_test_accuracy(graph::optimize(fp32), test);
    const quant::GraphPtqResult q = quant::quantize_graph_static(fp32, first_train_images(512));
    const graph::Graph int8 = graph::optimize(graph::fuse_qdq(q.graph));
    int integer_ops = 0;
    for (const auto& node : int8.nodes) integer_ops += node.op_type == "QLinearConv" || node.op_type == "QLinearMatMul";
    return fs::path(model_path).stem().string() + " int8 QDQ (per-channel weights, min-max ranges from 512 train images), " +
           std::to_string(integer_ops) + " of " + std::to_string(q.quantized_ops) + " Conv/Gemm integer-only: test accuracy " +
           fmt_fixed(100 * graph_test_accuracy(int8, test), 2) + "% vs fp32 " + fmt_fixed(100 * fp32_accuracy, 2) + "%";
}

std::string demo_graph_w4a8(const std::string& model_path) {
    if (!fs::exists(model_path)) return "not found: " + model_path;
    const graph::Graph fp32 = interop::load_classifier_graph(model_path);
    const data::ImageDataset test = nn::train::load_test_data("fashion-mnist");
    const Tensor calib = first_train_images(256);
    quant::GraphPtqOptions o;
    o.weight_bits = 4;
    const double nearest = graph_test_accuracy(graph::optimize(graph::fuse_qdq(quant::quantize_graph_static(fp32, calib, o).graph)), test);
    o.adaround = true;
    o.adaround_options.iterations = 300;  // the bench runs 1000; a few hundred already recover most of the loss
    o.adaround_rows = 1024;
    const double learned = graph_test_accuracy(graph::optimize(graph::fuse_qdq(quant::quantize_graph_static(fp32, calib, o).graph)), test);
    return fs::path(model_path).stem().string() + " 4-bit weights, int8 activations, integer-only: test accuracy " +
           fmt_fixed(100 * nearest, 2) + "% rounded to nearest, " + fmt_fixed(100 * learned, 2) +
           "% with AdaRound (300 steps a layer on 256 train images)";
}

std::string demo_graph_export(const std::string& model_path) {
    if (!fs::exists(model_path)) return "not found: " + model_path;
    ScratchDir dir("graph");
    const std::string onnx = (dir.path / "model.onnx").string();
    interop::export_classifier_onnx(model_path, onnx);
    const auto onnx_bytes = fs::file_size(onnx);
    const graph::Graph g = graph::optimize(graph::import_graph_file(onnx));

    const data::ImageDataset test = nn::train::load_test_data("fashion-mnist");
    nn::train::ClassifierFile c = nn::train::load_classifier(model_path);
    const int64_t batch = 500, classes = test.num_classes;
    graph::PreparedExecutor exec(g, {{interop::kImageInput, Shape{batch, test.channels(), test.height(), test.width()}}});

    nn::NoGradGuard no_grad;
    int64_t same = 0, correct = 0, count = 0;
    for (int64_t b0 = 0; b0 + batch <= test.size(); b0 += batch) {
        Tensor x = Tensor::empty({batch, test.channels(), test.height(), test.width()});
        std::memcpy(x.data<float>(), test.image(b0), static_cast<size_t>(batch * test.image_numel()) * sizeof(float));
        const nn::Var nn_logits = c.model->forward(nn::Var(x));
        const auto out = exec.run({{interop::kImageInput, x}});
        const float* gl = out.at(interop::kLogitsOutput).data<float>();
        for (int64_t i = 0; i < batch; ++i) {
            const int64_t pg = argmax_row(gl + i * classes, classes);
            same += pg == argmax_row(nn_logits.data() + i * classes, classes);
            correct += pg == test.labels[static_cast<size_t>(b0 + i)];
            ++count;
        }
    }
    return fs::path(model_path).stem().string() + " -> ONNX (" + std::to_string(onnx_bytes / 1024) + " KiB) -> graph runtime, " +
           std::to_string(exec.prepared_nodes()) + " prepared nodes, activations " +
           std::to_string(exec.peak_activation_bytes() / 1024) + " KiB planned vs " +
           std::to_string(exec.naive_activation_bytes() / 1024) + " KiB naive; test accuracy " +
           fmt_fixed(100.0 * static_cast<double>(correct) / static_cast<double>(count), 2) + "%, " + std::to_string(same) + "/" +
           std::to_string(count) + " predictions identical to the trained model";
}

std::string demo_ocr() {
    const std::string models = tern_cache_dir() + "/npm/ocr-models/package/assets";
    const std::string det = models + "/ch_PP-OCRv4_det_infer.onnx", rec = models + "/ch_PP-OCRv4_rec_infer.onnx",
                      keys = models + "/ppocr_keys_v1.txt";
    if (!fs::exists(det) || !fs::exists(rec) || !fs::exists(keys)) return "skipped: PP-OCR models not found (run scripts/setup.sh)";
    if (std::system("convert -version >/dev/null 2>&1") != 0) return "skipped: ImageMagick's convert not found (run scripts/setup.sh)";
    ScratchDir dir("ocr");
    const std::string text = "Compressed models run fast";
    const std::string png = (dir.path / "line.png").string();
    const std::string cmd = "convert -background white -fill black -font DejaVu-Sans -pointsize 30 'label:" + text +
                            "' -bordercolor white -border 20 '" + png + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return "skipped: convert could not render the text";
    const vision::OcrReader reader(det, rec, keys);
    const auto lines = reader.read(read_image(png));
    std::string read;
    for (const auto& l : lines) read += (read.empty() ? "" : " | ") + l.text;
    return "PP-OCRv4 (ONNX, Paddle) on tern's graph runtime rendered \"" + text + "\", read \"" + read + "\"" +
           (read == text ? " (exact)" : " (differs)");
}

}  // namespace tern::cli
