#include "cli/demo_train.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "core/table.h"
#include "distill/classifier_distill.h"
#include "nas/search.h"
#include "nn/train/recipe.h"
#include "nn/train/model_file.h"
#include "nn/train/run.h"
#include "nn/train/trainer.h"
#include "quant/kmeans_model.h"
#include "quant/qat_training.h"

namespace tern::cli {

std::string demo_distill(const std::string& models_dir) {
    namespace fs = std::filesystem;
    const std::string teacher = models_dir + "fmnist-mobilenetv2_tiny.safetensors";
    if (!fs::exists(teacher)) return "not found: " + teacher;
    const fs::path dir = fs::temp_directory_path() / ("tern-demo-distill-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    // One short epoch: what the teacher's soft targets add shows most when the
    // student has seen little data.
    auto recipe = [&](bool taught) {
        std::string j = R"({"model": "lenet5", "data": "fashion-mnist", "epochs": 1, "batch_size": 64,
            "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true, "grad_clip": 2},
            "schedule": {"name": "cosine"}, "train_subset": 4000, "validation": 500, "seed": 1,
            "output": ")" + (dir / (taught ? "taught.safetensors" : "alone.safetensors")).string() + "\"";
        if (taught)
            j += R"(, "distill": {"teacher": ")" + teacher + R"(", "loss": "kd", "temperature": 4, "alpha": 0.9})";
        return nn::train::parse_recipe_json(j + "}", "demo");
    };
    std::string cell;
    try {
        const nn::train::RunResult alone = nn::train::run(recipe(false));
        const distill::DistilledRun taught = distill::run_distilled_training(recipe(true), {});
        cell = "lenet5, 1 epoch on 3,500 training images, test accuracy: alone " +
               fmt_fixed(100 * alone.test_accuracy, 2) + " %, taught by mobilenetv2_tiny " +
               fmt_fixed(100 * taught.run.test_accuracy, 2) + " %";
    } catch (const std::exception& e) {
        cell = std::string("failed: ") + e.what();
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    return cell;
}

std::string demo_qat_distill(const std::string& models_dir) {
    namespace fs = std::filesystem;
    const std::string init = models_dir + "fmnist-lenet5.safetensors";
    if (!fs::exists(init)) return "not found: " + init;
    const fs::path dir = fs::temp_directory_path() / ("tern-demo-qat-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    // W4A4 LSQ fake quantization from the trained fp32 LeNet-5, one short
    // epoch, with and without the fp32 model teaching its quantized self.
    auto recipe = [&](bool taught) {
        std::string j = R"({"model": "lenet5", "data": "fashion-mnist", "init": ")" + init + R"(", "epochs": 1,
            "batch_size": 64, "optimizer": {"name": "sgd", "lr": 0.005, "momentum": 0.9, "nesterov": true},
            "schedule": {"name": "cosine"}, "train_subset": 6000, "validation": 1000, "seed": 1,
            "qat": {"method": "lsq", "weight_bits": 4, "act_bits": 4, "per_channel": true, "calibration_batches": 8},
            "output": ")" + (dir / (taught ? "taught.safetensors" : "alone.safetensors")).string() + "\"";
        if (taught) j += R"(, "distill": {"teacher": ")" + init + R"(", "loss": "kd", "temperature": 4, "alpha": 0.9})";
        return nn::train::parse_recipe_json(j + "}", "demo");
    };
    std::string cell;
    try {
        const quant::QatRun alone = quant::run_qat_training(recipe(false), {});
        const distill::DistilledRun taught = distill::run_distilled_training(recipe(true), {});
        cell = "lenet5 W4A4 (LSQ, per channel), 1 epoch on 5,000 training images, fake-quant test accuracy: QAT " +
               fmt_fixed(100 * alone.run.test_accuracy, 2) + " %, QAT taught by its fp32 self " +
               fmt_fixed(100 * taught.run.test_accuracy, 2) + " % (fp32 " +
               (alone.init_test_accuracy >= 0 ? fmt_fixed(100 * alone.init_test_accuracy, 2) + " %" : "n/a") + ")";
    } catch (const std::exception& e) {
        cell = std::string("failed: ") + e.what();
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    return cell;
}

std::string demo_kmeans(const std::string& models_dir) {
    namespace fs = std::filesystem;
    const std::string input = models_dir + "fmnist-lenet300.safetensors";
    if (!fs::exists(input)) return "not found: " + input;
    const fs::path out = fs::temp_directory_path() / ("tern-demo-kmeans-" + std::to_string(::getpid()) + ".safetensors");
    std::string cell;
    try {
        const quant::KmeansFileResult r = quant::kmeans_compress_file(input, out.string(), {4, 5, true});
        const data::ImageDataset test = nn::train::load_test_data("fashion-mnist");
        nn::train::ClassifierFile f32 = nn::train::load_classifier(input), shared = nn::train::load_classifier(out.string());
        cell = "lenet300 4-bit K-means + Huffman: " + std::to_string(r.bytes_before) + " -> " +
               std::to_string(r.bytes_after) + " bytes (" +
               fmt_fixed(double(r.bytes_before) / double(std::max<uint64_t>(r.bytes_after, 1)), 1) +
               "x smaller), test accuracy " + fmt_fixed(100 * nn::train::evaluate(*shared.model, test).accuracy, 2) +
               " % (f32 " + fmt_fixed(100 * nn::train::evaluate(*f32.model, test).accuracy, 2) + " %)";
    } catch (const std::exception& e) {
        cell = std::string("failed: ") + e.what();
    }
    std::error_code ec;
    fs::remove(out, ec);
    return cell;
}

std::string demo_search() {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("tern-demo-search-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    nas::SearchOptions o;
    o.strategy = "zeroshot";
    o.budget.params = 40000;
    o.max_evals = 20;
    o.epochs = 1;
    o.train_subset = 5000;
    o.output = (dir / "found.safetensors").string();
    std::string cell;
    try {
        const nas::SearchResult r = nas::run_search(o);
        cell = "zero-shot: 20 architectures under 40 K params scored by NASWOT, the top one trained 1 epoch on 4,000 "
               "images: " +
               std::to_string(r.cost.params) + " params, " + fmt_fixed(r.cost.macs / 1e6, 2) + " M MACs, " +
               fmt_fixed(r.latency_ms, 2) + " ms; validation " + fmt_fixed(100 * r.val_accuracy, 1) + " %, test " +
               fmt_fixed(100 * r.test_accuracy, 1) + " %";
    } catch (const std::exception& e) {
        cell = std::string("failed: ") + e.what();
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    return cell;
}

}  // namespace tern::cli
