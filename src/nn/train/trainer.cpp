#include "nn/train/trainer.h"

#include <chrono>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "core/version.h"
#include "formats/nonfinite_scan.h"
#include "io/safetensors.h"
#include "nn/data/rng.h"
#include "nn/models/conv_bn_pairs.h"
#include "nn/models/zoo.h"
#include "nn/modules/fake_quant.h"
#include "nn/ops.h"
#include "nn/train/checkpoint.h"
#include "nn/train/model_file.h"

namespace tern::nn::train {
namespace {

// Index of the largest logit in each row.
int64_t count_correct(const Tensor& logits, const std::vector<int32_t>& labels) {
    const int64_t n = logits.dim(0), c = logits.dim(1);
    const float* p = logits.data<float>();
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float* row = p + i * c;
        int64_t best = 0;
        for (int64_t k = 1; k < c; ++k)
            if (row[k] > row[best]) best = k;
        correct += best == labels[static_cast<size_t>(i)];
    }
    return correct;
}

std::vector<int64_t> to_targets(const std::vector<int32_t>& labels) { return {labels.begin(), labels.end()}; }

// Seeds of the independent random streams a run uses, all derived from recipe.seed.
uint64_t split_seed(uint64_t s) { return data::mix_seed(s, 1); }
uint64_t loader_seed(uint64_t s) { return data::mix_seed(s, 2); }

// Starts from the weights of the recipe's `init` classifier (fine-tuning,
// pruning), which must be the same zoo model with the same tensor shapes.
void load_init_weights(Module& model, const Recipe& r) {
    const ClassifierFile f = load_init_classifier(r.init, r.model, r.source);
    load_module_state(model, module_state(*f.model), r.init);
}

}  // namespace

FakeQuantSpec fake_quant_spec(const QatRecipe& q) { return {q.method, q.weight_bits, q.act_bits, q.per_channel, q.fold_bn}; }

BinarySpec binary_spec(const BinaryRecipe& b) { return {b.method, b.threshold, b.keep_first_last, {}}; }

EvalResult evaluate(UnaryModule& model, const data::ImageDataset& ds, int64_t batch_size) {
    // Accuracy over nothing would print 0.00 % and exit 0.
    if (ds.size() == 0) throw InputError("evaluate", "the dataset holds no images");
    NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    EvalResult r;
    r.count = ds.size();
    r.class_correct.assign(static_cast<size_t>(ds.num_classes), 0);
    r.class_total.assign(static_cast<size_t>(ds.num_classes), 0);
    double loss_sum = 0;
    int64_t correct = 0;
    for (int64_t b0 = 0; b0 < ds.size(); b0 += batch_size) {
        const int64_t n = std::min(batch_size, ds.size() - b0);
        Tensor x = Tensor::empty({n, ds.channels(), ds.height(), ds.width()});
        std::memcpy(x.data<float>(), ds.image(b0), static_cast<size_t>(n * ds.image_numel()) * sizeof(float));
        const std::vector<int32_t> labels(ds.labels.begin() + b0, ds.labels.begin() + b0 + n);
        Var logits = model.forward(Var(x));
        if (logits.rank() != 2 || logits.dim(1) != ds.num_classes)
            throw InputError("evaluate", "model gives " + shape_to_string(logits.shape()) + " logits for " +
                                             std::to_string(ds.num_classes) + " classes");
        const float* p = logits.data();
        // NaN logits make every argmax class 0 (10 % accuracy on ten balanced classes), not an error.
        if (count_nonfinite(p, n * ds.num_classes) != 0)
            throw InputError("evaluate", format("the model's logits for images [%lld, %lld) are NaN or Inf: its "
                                                "weights or activations overflow",
                                                (long long)b0, (long long)(b0 + n)));
        loss_sum += static_cast<double>(cross_entropy(logits, to_targets(labels)).item()) * static_cast<double>(n);
        for (int64_t i = 0; i < n; ++i) {
            const float* row = p + i * ds.num_classes;
            int64_t best = 0;
            for (int64_t k = 1; k < ds.num_classes; ++k)
                if (row[k] > row[best]) best = k;
            const auto y = static_cast<size_t>(labels[static_cast<size_t>(i)]);
            r.class_total[y]++;
            if (best == static_cast<int64_t>(y)) {
                r.class_correct[y]++;
                ++correct;
            }
        }
    }
    if (r.count > 0) {
        r.loss = loss_sum / static_cast<double>(r.count);
        r.accuracy = static_cast<double>(correct) / static_cast<double>(r.count);
    }
    model.train(was_training);
    return r;
}

TrainData load_train_data(const Recipe& r) {
    if (r.data != "fashion-mnist") throw InputError(r.source, "key 'data': unknown dataset '" + r.data + "'");
    return split_train_data(r, std::make_shared<data::ImageDataset>(data::load_fashion_mnist("train", r.data_dir)));
}

TrainData split_train_data(const Recipe& r, std::shared_ptr<const data::ImageDataset> full) {
    if (r.train_subset > 0 && r.train_subset < full->size()) {
        std::vector<int64_t> idx(static_cast<size_t>(r.train_subset));
        std::iota(idx.begin(), idx.end(), 0);
        full = std::make_shared<data::ImageDataset>(data::subset(*full, idx));
    }
    TrainData d;
    if (r.validation <= 0) {
        d.train = full;
        return d;
    }
    if (r.validation >= full->size())
        throw InputError(r.source, "key 'validation': " + std::to_string(r.validation) + " images leave none of the " +
                                       std::to_string(full->size()) + " for training");
    const double fraction = static_cast<double>(r.validation) / static_cast<double>(full->size());
    auto [train, val] = data::split_train_validation(*full, fraction, split_seed(r.seed));
    d.train = std::make_shared<data::ImageDataset>(std::move(train));
    d.validation = std::make_shared<data::ImageDataset>(std::move(val));
    return d;
}

data::ImageDataset load_test_data(const std::string& name, const std::string& dir) {
    if (name != "fashion-mnist") throw InputError("--data", "unknown dataset '" + name + "' (known: fashion-mnist)");
    return data::load_fashion_mnist("t10k", dir);
}

Trainer::Trainer(Recipe r, TrainData d) : recipe_(std::move(r)), data_(std::move(d)) {
    const auto& ds = *data_.train;
    if (ds.size() == 0) throw InputError(recipe_.source, "the training set holds no images");
    model_ = models::make_model(recipe_.model, recipe_.seed, ds.channels(), ds.num_classes);
    if (!recipe_.init.empty()) load_init_weights(*model_, recipe_);
    // Before the optimizer: the learned scales are parameters it must step.
    if (recipe_.has_qat) {
        attach_fake_quant(*model_, fake_quant_spec(recipe_.qat));
        if (recipe_.qat.fold_bn) models::fold_batch_norms_into_quantizers(*model_, recipe_.source);
    }
    if (recipe_.has_binary) {  // after the init weights: TTQ starts its scales from them
        BinarySpec spec = binary_spec(recipe_.binary);
        attach_binarizers(*model_, spec, recipe_.source);
    }
    optimizer_ = make_optimizer(recipe_.optimizer, model_->parameters());
    data::BatchLoaderConfig lc;
    lc.batch_size = recipe_.batch_size;
    lc.shuffle = true;
    // A trailing batch of one sample would give batch norm a zero variance.
    lc.drop_last = ds.size() % recipe_.batch_size == 1;
    lc.seed = loader_seed(recipe_.seed);
    lc.augment.pad = recipe_.augment.crop_pad;
    lc.augment.horizontal_flip = recipe_.augment.flip;
    loader_ = std::make_unique<data::BatchLoader>(data_.train, lc);
}

Trainer::~Trainer() = default;

int64_t Trainer::batches_per_epoch() const { return loader_->batches_per_epoch(); }

float Trainer::lr_at(int64_t step) const { return scheduled_lr(recipe_, step, batches_per_epoch()); }

EpochMetrics Trainer::train_epoch(const StepCallback& on_step) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t epoch = epochs_done();  // 0-based for the loader
    loader_->start_epoch(epoch, resumed_.steps);
    data::Batch batch;
    EpochLoop loop;
    loop.recipe = &recipe_;
    loop.model = model_.get();
    loop.optimizer = optimizer_.get();
    loop.epoch = epoch;
    loop.steps_per_epoch = batches_per_epoch();
    loop.resume = resumed_;
    resumed_ = {};
    loop.next_batch = [&](int64_t) { return loader_->next(batch); };
    loop.forward = [&] {
        if (hooks_.classifier_forward) {
            ClassifierForward f = hooks_.classifier_forward(*model_, Var(batch.images), batch.labels);
            return StepLoss{f.loss, batch.size(), count_correct(f.logits.value(), batch.labels)};
        }
        Var logits = model_->forward(Var(batch.images));
        Var loss = cross_entropy(logits, batch.targets());
        return StepLoss{loss, batch.size(), count_correct(logits.value(), batch.labels)};
    };
    TrainHooks hooks = hooks_;
    if (on_step)
        hooks.on_step_end = [&](StepContext& c) {
            if (hooks_.on_step_end) hooks_.on_step_end(c);
            on_step({c.epoch, c.step, c.steps, c.running_loss, c.running_accuracy});
        };
    const EpochTotals tot = run_epoch(loop, hooks);
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = tot.lr;
    m.train_loss = tot.loss;
    m.train_accuracy = tot.accuracy;
    m.val_loss = m.val_accuracy = std::numeric_limits<double>::quiet_NaN();
    if (data_.validation) {
        const EvalResult v = evaluate(*model_, *data_.validation);
        m.val_loss = v.loss;
        m.val_accuracy = v.accuracy;
    }
    m.seconds = loop.resume.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    history_.push_back(m);
    return m;
}

void Trainer::save_resume(const std::string& path, const EpochProgress* in_progress) const {
    save_resume_checkpoint(path, recipe_, *model_, *optimizer_, history_, {}, in_progress);
}

void Trainer::load_resume(const std::string& path) {
    history_ = load_resume_checkpoint(path, recipe_, *model_, *optimizer_, &resumed_, batches_per_epoch());
}

}  // namespace tern::nn::train
