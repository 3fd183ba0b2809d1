#include "quant/qat_training.h"

#include <cstring>

#include "core/error.h"
#include "nn/models/conv_bn_pairs.h"
#include "nn/modules/conv.h"
#include "nn/modules/fake_quant.h"
#include "nn/modules/linear.h"
#include "nn/modules/norm.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"

namespace tern::quant {

using nn::train::Recipe;

void check_qat_recipe(const Recipe& r) {
    if (!r.has_qat) return;
    // The trainer checks the model too, but only after loading the training images.
    const auto f = nn::train::load_init_classifier(r.init, r.model, r.source);
    if (f.metadata.count("tern.qat"))
        throw InputError(r.source, "key 'init': '" + r.init + "' is already a QAT model; start QAT from an fp32 one");
    if (r.qat.fold_bn && nn::models::conv_batch_norm_pairs(*f.model).empty())
        throw InputError(r.source, "qat.fold_bn: model '" + r.model + "' has no convolution followed by batch norm "
                                   "(lenet5_bn and mobilenetv2 models have)");
}

std::string qat_summary(const nn::train::QatRecipe& q) {
    return q.method + " W" + std::to_string(q.weight_bits) + "A" + std::to_string(q.act_bits) +
           (q.per_channel ? " per-channel" : " per-tensor") + (q.fold_bn ? ", BatchNorm folded" : "");
}

struct QatCalibrator::State {
    Recipe recipe;
    std::shared_ptr<const data::ImageDataset> calibration;
    std::function<void(const std::string&)> log;
    bool started = false;

    // Input scales from the fp32 model's inputs on the first batches, weight scales from the weights.
    void calibrate(nn::Module& model) {
        auto* classifier = dynamic_cast<nn::UnaryModule*>(&model);
        if (!classifier || !calibration) throw Error("qat", "calibration needs a classifier and training images");
        const auto layers = nn::fake_quant_layers(model);
        for (const auto& [name, q] : layers) q->calibrating = true;
        const data::ImageDataset& ds = *calibration;
        const int64_t bs = recipe.batch_size;
        const int64_t images = std::min(ds.size(), recipe.qat.calibration_batches * bs);
        {
            nn::NoGradGuard no_grad;
            model.eval();
            for (int64_t b0 = 0; b0 < images; b0 += bs) {
                const int64_t n = std::min(bs, images - b0);
                Tensor x = Tensor::empty({n, ds.channels(), ds.height(), ds.width()});
                std::memcpy(x.data<float>(), ds.image(b0), static_cast<size_t>(n * ds.image_numel()) * sizeof(float));
                classifier->forward(nn::Var(x));
            }
            model.train();
        }
        for (const auto& [name, q] : layers) q->finish_calibration(recipe.source + ": layer " + name);
        nn::visit_modules(model, [](const std::string&, nn::Module& m) {
            if (auto* c = dynamic_cast<nn::Conv2d*>(&m); c && c->fake_quant)
                c->fake_quant->init_weight_scale(c->fake_quant->folded_weight(c->weight.value()));
            if (auto* l = dynamic_cast<nn::Linear*>(&m); l && l->fake_quant) l->fake_quant->init_weight_scale(l->weight.value());
        });
        if (log)
            log(format("qat %s: %zu layers fake-quantized, input scales from %lld calibration images\n",
                       qat_summary(recipe.qat).c_str(), layers.size(), static_cast<long long>(images)));
    }

    void freeze_batch_norm(nn::Module& model) {
        nn::visit_modules(model, [](const std::string&, nn::Module& m) {
            if (dynamic_cast<nn::BatchNorm2d*>(&m)) m.train(false);
        });
    }
};

QatCalibrator::QatCalibrator(const Recipe& r, std::shared_ptr<const data::ImageDataset> calibration,
                             std::function<void(const std::string&)> log)
    : state_(std::make_shared<State>()) {
    state_->recipe = r;
    state_->calibration = std::move(calibration);
    state_->log = std::move(log);
}

nn::train::TrainHooks QatCalibrator::hooks() {
    nn::train::TrainHooks h;
    auto s = state_;
    h.on_step_begin = [s](nn::train::StepContext& c) {
        // A resumed run has its scales from the checkpoint.
        if (!s->started && c.global_step == 0) s->calibrate(c.model);
        s->started = true;
        const int64_t freeze = s->recipe.qat.freeze_bn_epoch;
        if (freeze > 0 && c.epoch >= freeze) s->freeze_batch_norm(c.model);
    };
    h.on_step_end = [](nn::train::StepContext& c) { nn::keep_scales_positive(c.model); };
    return h;
}

QatRun run_qat_training(const Recipe& r, const nn::train::RunOptions& o, nn::train::TrainHooks more) {
    check_qat_recipe(r);
    QatRun res;
    {
        const auto init = nn::train::load_classifier(r.init);
        if (auto it = init.metadata.find("tern.test_accuracy"); it != init.metadata.end()) {
            try {
                res.init_test_accuracy = std::stod(it->second);
            } catch (const std::exception&) {
            }
        }
    }
    QatCalibrator calibrator(r, nn::train::load_train_data(r).train, o.callbacks.log);
    res.run = nn::train::run(r, nn::train::merge_hooks(calibrator.hooks(), std::move(more)), o);
    res.layers = static_cast<int64_t>(nn::fake_quant_layers(*nn::train::load_classifier(r.output).model).size());
    return res;
}

}  // namespace tern::quant
