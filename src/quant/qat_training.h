#pragma once
// Quantization-aware training of a classifier, as its recipe's "qat" section
// says: the trainer attaches fake quantizers to every Conv2d / Linear of the
// fp32 `init` model (nn/modules/fake_quant.h); before the first step these
// hooks start the scales from data (weights: MSE-optimal clip per channel;
// inputs: a few training batches run through the fp32 model), and from
// `freeze_bn_epoch` on batch norm keeps its running statistics. The written
// model file carries the learned scales and its "tern.qat" metadata, so
// `tern eval` runs the same fake-quant model. With `fold_bn` the fake-quantized
// conv weight is w * gamma / sigma (nn/modules/fake_quant.h LayerFakeQuant::conv),
// the grid the integer export deploys; without it, the conv's own weight.
#include <memory>
#include <string>

#include "nn/data/image_dataset.h"
#include "nn/train/run.h"

namespace tern::quant {

// What the parser cannot check alone: that `init` is a trained fp32 classifier
// of the recipe's model (not already a QAT file). InputError naming the recipe.
void check_qat_recipe(const nn::train::Recipe& r);

class QatCalibrator {
public:
    // `calibration`: training images whose first calibration_batches batches start the input scales.
    QatCalibrator(const nn::train::Recipe& r, std::shared_ptr<const data::ImageDataset> calibration,
                  std::function<void(const std::string&)> log = {});
    nn::train::TrainHooks hooks();

private:
    struct State;
    std::shared_ptr<State> state_;
};

struct QatRun {
    nn::train::RunResult run;  // test accuracy is the fake-quant model's
    int64_t layers = 0;        // Conv2d / Linear layers fake-quantized
    double init_test_accuracy = -1;  // the fp32 init's, from its metadata (-1: not recorded)
};

// check_qat_recipe, then nn::train::run with the calibration hooks, followed at
// every step by `more` (a distiller's: QAT taught by a teacher).
QatRun run_qat_training(const nn::train::Recipe& r, const nn::train::RunOptions& options,
                        nn::train::TrainHooks more = {});

// "lsq W4A8 per-channel": the recipe's quantization in one phrase.
std::string qat_summary(const nn::train::QatRecipe& q);

}  // namespace tern::quant
