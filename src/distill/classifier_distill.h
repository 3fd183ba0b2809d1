#pragma once
// Knowledge distillation while a classifier trains, as its recipe's "distill"
// section says. The teacher (a classifier file) runs in eval mode without
// gradients on the same augmented batch as the student; the step loss becomes
//   alpha * T^2 KL(teacher/T || student/T) + (1 - alpha) * CE(labels)
//   + feature_weight * (FitNets hint MSE | attention transfer) over `layers`.
// FitNets regressors (1x1 conv or linear, student -> teacher channels) train
// with their own optimizer of the recipe's kind at the same learning rate; they
// are not in the resume checkpoint (a resumed run starts them afresh; KD and
// attention transfer have no state of their own and resume exactly).
// Born-again self-distillation is a teacher file of the student's own model.
#include <functional>
#include <memory>
#include <string>

#include "nn/modules/module.h"
#include "nn/train/run.h"
#include "quant/qat_training.h"

namespace tern::distill {

struct Teacher {
    std::string path, model_name;
    std::shared_ptr<nn::UnaryModule> model;  // in eval mode
    double test_accuracy = -1;               // from the file's metadata; < 0 when absent
};

// Loads distill.teacher and checks it against the student: a classifier file
// (or distill.teacher_model naming the architecture of a bare weights file),
// the student's number of classes, and every distill.layers point existing
// with shapes the loss can compare. InputError naming the file or the key.
Teacher load_teacher(const nn::train::Recipe& r);

class ClassifierDistiller {
public:
    ClassifierDistiller(const nn::train::Recipe& r, Teacher teacher, std::function<void(const std::string&)> log = {});
    ~ClassifierDistiller();
    nn::train::TrainHooks hooks();

private:
    struct State;
    std::shared_ptr<State> state_;
};

struct DistilledRun {
    nn::train::RunResult run;
    quant::QatRun qat;  // a recipe with a "qat" section too: the quantized student's report
    std::string teacher, teacher_model;  // file and zoo name
    double teacher_test_accuracy = -1;   // from its metadata; < 0 when absent
};

// load_teacher, then nn::train::run with the distillation hooks (with a "qat"
// section: quant::run_qat_training with them, a fake-quantized student taught by
// the teacher, e.g. its own fp32 model).
DistilledRun run_distilled_training(const nn::train::Recipe& r, const nn::train::RunOptions& options);

}  // namespace tern::distill
