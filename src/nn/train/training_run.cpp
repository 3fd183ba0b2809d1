#include "nn/train/training_run.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/version.h"
#include "io/safetensors.h"
#include "nn/optim/lr_schedule.h"
#include "nn/train/checkpoint.h"

namespace tern::nn::train {

std::unique_ptr<Optimizer> make_optimizer(const OptimizerRecipe& o, const std::vector<Var>& params) {
    if (o.name == "sgd") {
        SgdOptions so;
        so.lr = o.lr;
        so.momentum = o.momentum;
        so.nesterov = o.nesterov;
        so.weight_decay = o.weight_decay;
        return std::make_unique<SGD>(params, so);
    } else {
        AdamWOptions ao;
        ao.lr = o.lr;
        ao.beta1 = o.beta1;
        ao.beta2 = o.beta2;
        ao.eps = o.eps;
        ao.weight_decay = o.weight_decay;
        return std::make_unique<AdamW>(params, ao);
    }
}

float scheduled_lr(const Recipe& recipe, int64_t step, int64_t spe) {
    const auto& s = recipe.schedule;
    const auto warmup = static_cast<int64_t>(std::llround(s.warmup_epochs * static_cast<double>(spe)));
    if (s.name == "cosine") {
        CosineSchedule c;
        c.base_lr = recipe.optimizer.lr;
        c.min_lr = s.min_lr;
        c.warmup_steps = warmup;
        c.total_steps = recipe.epochs * spe;
        return c.lr_at(step);
    }
    if (s.name == "step") {
        StepSchedule st;
        st.base_lr = recipe.optimizer.lr;
        st.warmup_steps = warmup;
        st.step_size = std::max<int64_t>(1, std::llround(s.step_epochs * static_cast<double>(spe)));
        st.gamma = s.gamma;
        return st.lr_at(step);
    }
    // constant, with the same linear warm-up as the others
    if (warmup > 0 && step < warmup)
        return recipe.optimizer.lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
    return recipe.optimizer.lr;
}

void save_resume_checkpoint(const std::string& path, const Recipe& recipe, const Module& model, Optimizer& opt,
                            const std::vector<EpochMetrics>& history,
                            const std::map<std::string, std::string>& extra_metadata,
                            const EpochProgress* in_progress) {
    std::vector<NamedTensor> tensors = module_state(model);
    for (auto& nt : optimizer_state(opt, model)) tensors.push_back(std::move(nt));
    std::map<std::string, std::string> meta = extra_metadata;
    meta["tern.format"] = "resume-v1";
    meta["tern.model"] = recipe.model;
    meta["tern.recipe"] = recipe_to_json(recipe).dump();
    meta["tern.epochs_done"] = std::to_string(static_cast<int64_t>(history.size()));
    meta["tern.optim_step"] = std::to_string(opt.step_count());
    meta["tern.history"] = history_json(history).dump();
    meta["tern.version"] = kTernVersion;
    if (in_progress && in_progress->steps > 0) {
        // Hex floats: the resumed epoch's mean must come out bit-identical.
        meta["tern.epoch_steps_done"] = std::to_string(in_progress->steps);
        meta["tern.epoch_samples"] = std::to_string(in_progress->samples);
        meta["tern.epoch_correct"] = std::to_string(in_progress->correct);
        meta["tern.epoch_loss_sum"] = format("%a", in_progress->loss_sum);
        meta["tern.epoch_lr"] = format("%a", static_cast<double>(in_progress->lr));
        meta["tern.epoch_seconds"] = format("%a", in_progress->seconds);
    }
    io::write_safetensors(path, tensors, meta);
}

namespace {

// The mid-epoch position of a checkpoint; all zero when it has none.
EpochProgress read_epoch_progress(const std::map<std::string, std::string>& meta, const std::string& path,
                                  int64_t steps_per_epoch) {
    EpochProgress p;
    if (meta.find("tern.epoch_steps_done") == meta.end()) return p;
    auto number = [&](const char* key, auto parse) {
        auto it = meta.find(key);
        if (it == meta.end()) throw InputError(path, std::string("bad resume metadata: no ") + key);
        size_t used = 0;
        try {
            auto v = parse(it->second, &used);
            if (used == it->second.size()) return v;
        } catch (const std::exception&) {
        }
        throw InputError(path, std::string("bad resume metadata: ") + key + " '" + it->second + "'");
    };
    auto integer = [](const std::string& s, size_t* used) { return std::stoll(s, used); };
    auto real = [](const std::string& s, size_t* used) { return std::stod(s, used); };
    p.steps = number("tern.epoch_steps_done", integer);
    p.samples = number("tern.epoch_samples", integer);
    p.correct = number("tern.epoch_correct", integer);
    p.loss_sum = number("tern.epoch_loss_sum", real);
    p.lr = static_cast<float>(number("tern.epoch_lr", real));
    p.seconds = number("tern.epoch_seconds", real);
    if (p.steps < 0 || (steps_per_epoch > 0 && p.steps >= steps_per_epoch) || p.samples < 0 || p.correct < 0 ||
        p.correct > p.samples || !std::isfinite(p.loss_sum))
        throw InputError(path, "bad resume metadata: step " + std::to_string(p.steps) + " of an epoch of " +
                                   std::to_string(steps_per_epoch) + " steps, " + std::to_string(p.samples) +
                                   " samples, " + std::to_string(p.correct) + " correct");
    return p;
}

}  // namespace

std::vector<EpochMetrics> load_resume_checkpoint(const std::string& path, const Recipe& recipe, Module& model,
                                                 Optimizer& opt, EpochProgress* in_progress,
                                                 int64_t steps_per_epoch) {
    const io::SafetensorsModel f = io::read_safetensors(path);
    std::map<std::string, std::string> meta(f.infos.at(0).metadata.begin(), f.infos.at(0).metadata.end());
    auto get = [&](const std::string& key) -> const std::string& {
        auto it = meta.find(key);
        if (it == meta.end()) throw InputError(path, "not a tern resume checkpoint (no " + key + " metadata)");
        return it->second;
    };
    if (get("tern.format") != "resume-v1") throw InputError(path, "not a tern resume checkpoint (tern.format)");
    if (get("tern.model") != recipe.model)
        throw InputError(path, "checkpoint holds model '" + get("tern.model") + "', the recipe trains '" + recipe.model + "'");
    // Everything but the length of the run and where it goes must match, or
    // the continuation would silently be a different experiment.
    Json saved, now = recipe_to_json(recipe);
    try {
        saved = Json::parse(get("tern.recipe"));
    } catch (const std::exception& e) {
        throw InputError(path, std::string("bad tern.recipe metadata: ") + e.what());
    }
    for (const char* k : {"epochs", "output"}) saved.erase(k), now.erase(k);
    if (saved != now)
        throw InputError(path, "checkpoint was trained with a different recipe: " + saved.dump() + " vs " + now.dump());
    load_module_state(model, f.tensors, path);
    load_optimizer_state(opt, model, f.tensors, path);
    std::vector<EpochMetrics> history;
    try {
        opt.set_step_count(std::stoll(get("tern.optim_step")));
        history = history_from_json(Json::parse(get("tern.history")));
    } catch (const InputError&) {
        throw;
    } catch (const std::exception& e) {
        throw InputError(path, std::string("bad resume metadata: ") + e.what());
    }
    if (static_cast<int64_t>(history.size()) != std::stoll(get("tern.epochs_done"))) throw InputError(path, "history and epochs_done disagree");
    if (in_progress) *in_progress = read_epoch_progress(meta, path, steps_per_epoch);
    return history;
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
