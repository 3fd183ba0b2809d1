#include "nn/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "core/version.h"
#include "io/safetensors.h"
#include "nn/data/rng.h"
#include "nn/models/zoo.h"
#include "nn/ops.h"
#include "nn/optim/lr_schedule.h"
#include "nn/train/checkpoint.h"

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

}  // namespace

EvalResult evaluate(UnaryModule& model, const data::ImageDataset& ds, int64_t batch_size) {
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
        loss_sum += static_cast<double>(cross_entropy(logits, to_targets(labels)).item()) * static_cast<double>(n);
        const float* p = logits.data();
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
    model_ = models::make_model(recipe_.model, recipe_.seed, ds.channels(), ds.num_classes);
    const auto& o = recipe_.optimizer;
    if (o.name == "sgd") {
        SgdOptions so;
        so.lr = o.lr;
        so.momentum = o.momentum;
        so.nesterov = o.nesterov;
        so.weight_decay = o.weight_decay;
        optimizer_ = std::make_unique<SGD>(model_->parameters(), so);
    } else {
        AdamWOptions ao;
        ao.lr = o.lr;
        ao.beta1 = o.beta1;
        ao.beta2 = o.beta2;
        ao.eps = o.eps;
        ao.weight_decay = o.weight_decay;
        optimizer_ = std::make_unique<AdamW>(model_->parameters(), ao);
    }
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

float Trainer::lr_at(int64_t step) const {
    const auto& s = recipe_.schedule;
    const int64_t spe = batches_per_epoch();
    const auto warmup = static_cast<int64_t>(std::llround(s.warmup_epochs * static_cast<double>(spe)));
    if (s.name == "cosine") {
        CosineSchedule c;
        c.base_lr = recipe_.optimizer.lr;
        c.min_lr = s.min_lr;
        c.warmup_steps = warmup;
        c.total_steps = recipe_.epochs * spe;
        return c.lr_at(step);
    }
    if (s.name == "step") {
        StepSchedule st;
        st.base_lr = recipe_.optimizer.lr;
        st.warmup_steps = warmup;
        st.step_size = std::max<int64_t>(1, std::llround(s.step_epochs * static_cast<double>(spe)));
        st.gamma = s.gamma;
        return st.lr_at(step);
    }
    // constant, with the same linear warm-up as the others
    if (warmup > 0 && step < warmup)
        return recipe_.optimizer.lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
    return recipe_.optimizer.lr;
}

EpochMetrics Trainer::train_epoch(const StepCallback& on_step) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t epoch = epochs_done();  // 0-based for the loader
    const int64_t spe = batches_per_epoch();
    model_->train();
    loader_->start_epoch(epoch);
    data::Batch batch;
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, b = 0;
    float lr = 0;
    const auto params = model_->parameters();
    while (loader_->next(batch)) {
        lr = lr_at(epoch * spe + b);
        optimizer_->set_lr(lr);
        optimizer_->zero_grad();
        Var logits = model_->forward(Var(batch.images));
        Var loss = cross_entropy(logits, to_targets(batch.labels));
        const float lv = loss.item();
        if (!std::isfinite(lv))
            throw InputError(recipe_.source, "training diverged (loss " + std::to_string(lv) + " at epoch " +
                                                 std::to_string(epoch + 1) + "); lower optimizer.lr");
        loss.backward();
        if (recipe_.optimizer.grad_clip > 0) clip_grad_norm(params, recipe_.optimizer.grad_clip);
        optimizer_->step();
        loss_sum += static_cast<double>(lv) * static_cast<double>(batch.size());
        correct += count_correct(logits.value(), batch.labels);
        seen += batch.size();
        ++b;
        if (on_step)
            on_step({epoch + 1, b, spe, loss_sum / static_cast<double>(seen),
                     static_cast<double>(correct) / static_cast<double>(seen)});
    }
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = lr;
    m.train_loss = seen ? loss_sum / static_cast<double>(seen) : 0;
    m.train_accuracy = seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0;
    m.val_loss = m.val_accuracy = std::numeric_limits<double>::quiet_NaN();
    if (data_.validation) {
        const EvalResult v = evaluate(*model_, *data_.validation);
        m.val_loss = v.loss;
        m.val_accuracy = v.accuracy;
    }
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    history_.push_back(m);
    return m;
}

void Trainer::save_resume(const std::string& path) const {
    std::vector<NamedTensor> tensors = module_state(*model_);
    for (auto& nt : optimizer_state(*optimizer_, *model_)) tensors.push_back(std::move(nt));
    std::map<std::string, std::string> meta;
    meta["tern.format"] = "resume-v1";
    meta["tern.model"] = recipe_.model;
    meta["tern.recipe"] = recipe_to_json(recipe_).dump();
    meta["tern.epochs_done"] = std::to_string(epochs_done());
    meta["tern.optim_step"] = std::to_string(optimizer_->step_count());
    meta["tern.history"] = history_json(history_).dump();
    meta["tern.version"] = kTernVersion;
    io::write_safetensors(path, tensors, meta);
}

void Trainer::load_resume(const std::string& path) {
    const io::SafetensorsModel f = io::read_safetensors(path);
    std::map<std::string, std::string> meta(f.infos.at(0).metadata.begin(), f.infos.at(0).metadata.end());
    auto get = [&](const std::string& key) -> const std::string& {
        auto it = meta.find(key);
        if (it == meta.end()) throw InputError(path, "not a tern resume checkpoint (no " + key + " metadata)");
        return it->second;
    };
    if (get("tern.format") != "resume-v1") throw InputError(path, "not a tern resume checkpoint (tern.format)");
    if (get("tern.model") != recipe_.model)
        throw InputError(path, "checkpoint holds model '" + get("tern.model") + "', the recipe trains '" + recipe_.model + "'");
    // Everything but the length of the run and where it goes must match, or
    // the continuation would silently be a different experiment.
    Json saved, now = recipe_to_json(recipe_);
    try {
        saved = Json::parse(get("tern.recipe"));
    } catch (const std::exception& e) {
        throw InputError(path, std::string("bad tern.recipe metadata: ") + e.what());
    }
    for (const char* k : {"epochs", "output"}) saved.erase(k), now.erase(k);
    if (saved != now)
        throw InputError(path, "checkpoint was trained with a different recipe: " + saved.dump() + " vs " + now.dump());
    load_module_state(*model_, f.tensors, path);
    load_optimizer_state(*optimizer_, *model_, f.tensors, path);
    try {
        optimizer_->set_step_count(std::stoll(get("tern.optim_step")));
        history_ = history_from_json(Json::parse(get("tern.history")));
    } catch (const InputError&) {
        throw;
    } catch (const std::exception& e) {
        throw InputError(path, std::string("bad resume metadata: ") + e.what());
    }
    if (epochs_done() != std::stoll(get("tern.epochs_done"))) throw InputError(path, "history and epochs_done disagree");
}

std::string history_csv(const std::vector<EpochMetrics>& h) {
    std::ostringstream s;
    s.precision(6);
    s << "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n";
    for (const auto& m : h) {
        s << m.epoch << ',' << m.lr << ',' << m.train_loss << ',' << m.train_accuracy << ',';
        if (std::isfinite(m.val_loss)) s << m.val_loss << ',' << m.val_accuracy;
        else s << ',';
        s << ',' << m.seconds << '\n';
    }
    return s.str();
}

Json history_json(const std::vector<EpochMetrics>& h) {
    Json a = Json::array();
    for (const auto& m : h) {
        Json e{{"epoch", m.epoch}, {"lr", m.lr}, {"train_loss", m.train_loss}, {"train_accuracy", m.train_accuracy}};
        if (std::isfinite(m.val_loss)) {
            e["val_loss"] = m.val_loss;
            e["val_accuracy"] = m.val_accuracy;
        }
        e["seconds"] = m.seconds;
        a.push_back(e);
    }
    return a;
}

std::vector<EpochMetrics> history_from_json(const Json& j) {
    std::vector<EpochMetrics> h;
    for (const auto& e : j) {
        EpochMetrics m;
        m.epoch = e.at("epoch").get<int64_t>();
        m.lr = e.at("lr").get<double>();
        m.train_loss = e.at("train_loss").get<double>();
        m.train_accuracy = e.at("train_accuracy").get<double>();
        m.val_loss = e.contains("val_loss") ? e["val_loss"].get<double>() : std::numeric_limits<double>::quiet_NaN();
        m.val_accuracy = e.contains("val_accuracy") ? e["val_accuracy"].get<double>() : std::numeric_limits<double>::quiet_NaN();
        m.seconds = e.at("seconds").get<double>();
        h.push_back(m);
    }
    return h;
}

}  // namespace tern::nn::train
