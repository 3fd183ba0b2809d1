// tern eval MODEL.safetensors --data fashion-mnist [--data-dir DIR] [-t N] [--json]
// Test-set loss, accuracy and per-class accuracy of a classifier written by
// `tern train` (the model is rebuilt from the zoo by its tern.model name).
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "core/json_out.h"
#include "core/table.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"

namespace tern::cli {
namespace {

using namespace tern::nn::train;

struct EvalCliOptions {
    std::string model;
    std::string data = "fashion-mnist";
    std::string data_dir;
    bool json = false;
    int threads = 0;
};

// Fashion-MNIST's class names, in label order.
const char* fashion_class_name(size_t k) {
    static const char* names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return k < 10 ? names[k] : "?";
}

void run_eval(const EvalCliOptions& o) {
    apply_threads(o.threads);
    const ClassifierFile c = load_classifier(o.model);
    const data::ImageDataset test = load_test_data(o.data, o.data_dir);
    const EvalResult r = evaluate(*c.model, test);
    if (o.json) {
        Json j;
        j["model"] = o.model;
        j["architecture"] = c.model_name;
        j["data"] = o.data;
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
                o.data.c_str(), static_cast<long long>(r.count), r.loss, 100 * r.accuracy);
}

}  // namespace

void add_eval_command(CLI::App& app) {
    auto o = std::make_shared<EvalCliOptions>();
    auto* cmd = app.add_subcommand("eval", "Test-set accuracy of a classifier trained by tern train");
    cmd->add_option("model", o->model, "classifier checkpoint (.safetensors from tern train)")->required();
    cmd->add_option("--data", o->data, "dataset: fashion-mnist");
    cmd->add_option("--data-dir", o->data_dir, "dataset folder (default: /usr/share/datasets/fashion-mnist)");
    cmd->add_flag("--json", o->json, "machine-readable report");
    add_threads_option(*cmd, o->threads);
    cmd->callback([o] { run_eval(*o); });
}

}  // namespace tern::cli
