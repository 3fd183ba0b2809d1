#include "distill/classifier_distill.h"

#include <filesystem>

#include "core/error.h"
#include "core/output_path.h"
#include "distill/features.h"
#include "distill/losses.h"
#include "io/safetensors.h"
#include "nn/models/zoo.h"
#include "nn/modules/conv.h"
#include "nn/modules/linear.h"
#include "nn/ops.h"
#include "nn/train/checkpoint.h"
#include "nn/train/model_file.h"
#include "nn/train/training_run.h"

namespace tern::distill {

using nn::Var;
using nn::train::DistillRecipe;
using nn::train::Recipe;

namespace {

// Fashion-MNIST (the only classifier dataset): one channel, ten classes, 28 x 28.
constexpr int64_t kChannels = 1, kClasses = 10;

std::shared_ptr<nn::UnaryModule> bare_teacher(const DistillRecipe& d) {
    if (d.teacher_model.empty())
        throw InputError(d.teacher, "not a tern classifier (no tern.model in __metadata__); name its architecture "
                                    "with distill.teacher_model");
    const io::SafetensorsModel f = io::read_safetensors(d.teacher);
    auto model = nn::models::make_model(d.teacher_model, 0, kChannels, kClasses);
    nn::train::load_module_state(*model, f.tensors, d.teacher);
    return model;
}

bool has_model_metadata(const std::string& path) {
    const io::SafetensorsModel f = io::read_safetensors(path);
    for (const auto& [k, v] : f.infos.at(0).metadata)
        if (k == "tern.model") return true;
    return false;
}

std::vector<std::string> student_points(const DistillRecipe& d) {
    std::vector<std::string> p;
    for (const auto& l : d.layers) p.push_back(l.first);
    return p;
}
std::vector<std::string> teacher_points(const DistillRecipe& d) {
    std::vector<std::string> p;
    for (const auto& l : d.layers) p.push_back(l.second);
    return p;
}

// The features both models give at their points for one blank image (eval
// mode, no history): what sizes the regressors and checks the shapes.
struct PointShapes {
    std::vector<Shape> student, teacher;
};
PointShapes point_shapes(const Recipe& r, nn::UnaryModule& teacher) {
    PointShapes s;
    if (r.distill.layers.empty()) return s;
    auto student = nn::models::make_model(r.model, 0, kChannels, kClasses);
    nn::NoGradGuard no_grad;
    student->eval();
    const Var x(Tensor::zeros({1, kChannels, 28, 28}));
    for (const Var& f : forward_with_features(*student, x, student_points(r.distill), r.source).features)
        s.student.push_back(f.shape());
    for (const Var& f : forward_with_features(teacher, x, teacher_points(r.distill), r.source).features)
        s.teacher.push_back(f.shape());
    return s;
}

void check_layer_shapes(const Recipe& r, const PointShapes& s) {
    const DistillRecipe& d = r.distill;
    for (size_t i = 0; i < d.layers.size(); ++i) {
        const Shape& a = s.student[i];
        const Shape& b = s.teacher[i];
        const std::string pair = "student '" + d.layers[i].first + "' " + shape_to_string(a) + " vs teacher '" +
                                 d.layers[i].second + "' " + shape_to_string(b);
        const bool spatial = a.size() == 4 && b.size() == 4;
        if (d.loss == "attention" && !(spatial && a[2] == b[2] && a[3] == b[3]))
            throw InputError(r.source, "key 'distill.layers': attention transfer needs feature maps of the same "
                                       "height and width: " + pair);
        if (d.loss == "fitnets" && !((spatial && a[2] == b[2] && a[3] == b[3]) || (a.size() == 2 && b.size() == 2)))
            throw InputError(r.source, "key 'distill.layers': a hint needs two feature maps of the same height and "
                                       "width or two feature vectors: " + pair);
    }
}

}  // namespace

Teacher load_teacher(const Recipe& r) {
    const DistillRecipe& d = r.distill;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(d.teacher, ec))
        throw InputError(r.source, "key 'distill.teacher': no classifier file '" + d.teacher + "'");
    Teacher t;
    t.path = d.teacher;
    if (has_model_metadata(d.teacher)) {
        nn::train::ClassifierFile f = nn::train::load_classifier(d.teacher);
        if (!d.teacher_model.empty() && d.teacher_model != f.model_name)
            throw InputError(d.teacher, "holds model '" + f.model_name + "', distill.teacher_model says '" +
                                            d.teacher_model + "'");
        t.model_name = f.model_name;
        t.model = f.model;
        auto acc = f.metadata.find("tern.test_accuracy");
        if (acc != f.metadata.end()) {
            try {
                t.test_accuracy = std::stod(acc->second);
            } catch (const std::exception&) {
            }
        }
    } else {
        t.model_name = d.teacher_model;
        t.model = bare_teacher(d);
    }
    t.model->eval();
    // The classes must be the student's: a KL between 10 and 100 logits means nothing.
    {
        nn::NoGradGuard no_grad;
        const Var y = t.model->forward(Var(Tensor::zeros({1, kChannels, 28, 28})));
        if (y.rank() != 2 || y.dim(1) != kClasses)
            throw InputError(d.teacher, "teacher gives " + shape_to_string(y.shape()) + " logits; the student (" + r.data +
                                            ") has " + std::to_string(kClasses) + " classes");
    }
    check_layer_shapes(r, point_shapes(r, *t.model));
    return t;
}

struct ClassifierDistiller::State {
    Recipe recipe;
    Teacher teacher;
    std::function<void(const std::string&)> log;
    std::vector<std::string> student_points, teacher_points;
    std::vector<std::shared_ptr<nn::UnaryModule>> regressors;  // fitnets: one per layer pair
    std::unique_ptr<nn::Optimizer> regressor_optimizer;

    void make_regressors() {
        const PointShapes s = point_shapes(recipe, *teacher.model);
        std::vector<Var> params;
        for (size_t i = 0; i < s.student.size(); ++i) {
            const int64_t cs = s.student[i][1], ct = s.teacher[i][1];
            const uint64_t seed = nn::child_seed(recipe.seed, 7000 + i);
            std::shared_ptr<nn::UnaryModule> m;
            if (s.student[i].size() == 4)
                m = std::make_shared<nn::Conv2d>(cs, ct, nn::Conv2dOptions{1, 1, 0, 1, 1, false}, seed);
            else
                m = std::make_shared<nn::Linear>(cs, ct, false, seed);
            for (const Var& p : m->parameters()) params.push_back(p);
            regressors.push_back(m);
        }
        regressor_optimizer = nn::train::make_optimizer(recipe.optimizer, params);
    }

    nn::train::ClassifierForward forward(nn::Module& model, const Var& images, const std::vector<int32_t>& labels) {
        auto& student = dynamic_cast<nn::UnaryModule&>(model);
        const DistillRecipe& d = recipe.distill;
        TappedForward s = forward_with_features(student, images, student_points, recipe.source);
        TappedForward t;
        {
            nn::NoGradGuard no_grad;
            t = forward_with_features(*teacher.model, images, teacher_points, recipe.source);
        }
        const std::vector<int64_t> targets(labels.begin(), labels.end());
        Var loss = kd_loss(s.logits, t.logits, targets, d.temperature, d.alpha);
        for (size_t i = 0; i < s.features.size() && d.feature_weight > 0; ++i) {
            Var term = d.loss == "fitnets" ? hint_loss(regressors[i]->forward(s.features[i]), t.features[i])
                                           : attention_transfer(s.features[i], t.features[i]);
            loss = nn::add(loss, nn::mul_scalar(term, d.feature_weight));
        }
        return {loss, s.logits};
    }
};

ClassifierDistiller::ClassifierDistiller(const Recipe& r, Teacher teacher, std::function<void(const std::string&)> log)
    : state_(std::make_shared<State>()) {
    state_->recipe = r;
    state_->teacher = std::move(teacher);
    state_->log = std::move(log);
    state_->student_points = student_points(r.distill);
    state_->teacher_points = teacher_points(r.distill);
    if (r.distill.loss == "fitnets") state_->make_regressors();
}

ClassifierDistiller::~ClassifierDistiller() = default;

nn::train::TrainHooks ClassifierDistiller::hooks() {
    nn::train::TrainHooks h;
    auto s = state_;
    h.classifier_forward = [s](nn::Module& m, const Var& images, const std::vector<int32_t>& labels) {
        return s->forward(m, images, labels);
    };
    if (s->regressor_optimizer) {
        h.on_step_begin = [s](nn::train::StepContext&) { s->regressor_optimizer->zero_grad(); };
        h.on_step_end = [s](nn::train::StepContext& c) {
            s->regressor_optimizer->set_lr(c.lr);
            s->regressor_optimizer->step();
        };
    }
    return h;
}

DistilledRun run_distilled_training(const Recipe& r, const nn::train::RunOptions& o) {
    if (r.has_prune) throw InputError(r.source, "key 'distill': a recipe with both 'prune' and 'distill' is not supported yet");
    if (!r.output.empty()) check_output_path(r.output, {r.source, r.distill.teacher, r.init, o.resume});
    Teacher teacher = load_teacher(r);
    const DistillRecipe& d = r.distill;
    if (o.callbacks.log) {
        std::string line = format("distill: teacher %s (%s", teacher.path.c_str(), teacher.model_name.c_str());
        if (teacher.test_accuracy >= 0) line += format(", test acc %.2f %%", 100 * teacher.test_accuracy);
        line += format("), loss %s, T %g, alpha %g", d.loss.c_str(), d.temperature, d.alpha);
        if (d.loss != "kd") line += format(", feature weight %g over %zu layer pair(s)", d.feature_weight, d.layers.size());
        o.callbacks.log(line + "\n");
        // The checkpoint holds the student and its optimizer, not the hint regressors.
        if (!o.resume.empty() && d.loss == "fitnets")
            o.callbacks.log("distill: the FitNets regressors restart from their seeded initialisation on resume\n");
    }
    DistilledRun res;
    res.teacher = teacher.path;
    res.teacher_model = teacher.model_name;
    res.teacher_test_accuracy = teacher.test_accuracy;
    ClassifierDistiller distiller(r, std::move(teacher), o.callbacks.log);
    if (r.has_qat) {
        res.qat = quant::run_qat_training(r, o, distiller.hooks());
        res.run = res.qat.run;
    } else {
        res.run = nn::train::run(r, distiller.hooks(), o);
    }
    return res;
}

}  // namespace tern::distill
