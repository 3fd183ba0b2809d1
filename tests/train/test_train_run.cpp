// nn::train::run, the whole-run driver behind `tern train`: a run killed in the
// middle of an epoch and resumed from its mid-epoch checkpoint ends exactly
// where the uninterrupted run ends (per-epoch losses, test loss and every
// weight bit for bit), for the language-model and the classifier trainer.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/io_test_util.h"
#include "io/safetensors.h"
#include "io/text_corpus.h"
#include "nn/data/image_dataset.h"
#include "nn/train/checkpoint.h"
#include "nn/train/run.h"
#include "ref/reference.h"

using namespace tern;
using namespace tern::nn;
using namespace tern::nn::train;

namespace {

struct Killed : std::runtime_error {
    Killed() : std::runtime_error("killed") {}
};

// The weights after the last epoch, copied out through the epoch-end hook.
struct Finished {
    RunResult result;
    std::vector<std::vector<float>> weights;
};

Finished run_to_end(const Recipe& r, const RunOptions& o) {
    Finished f;
    TrainHooks hooks;
    hooks.on_epoch_end = [&](Module& m, Optimizer&, const EpochTotals& t) {
        if (t.epoch != r.epochs) return;
        for (const auto& nt : module_state(m)) f.weights.push_back(nt.tensor.to_floats());
    };
    f.result = run(r, hooks, o);
    return f;
}

// Trains straight through; then trains again, checkpointing every 3 steps and
// killed at step `kill_step` of epoch `kill_epoch`, and resumes from what it left.
void expect_mid_epoch_resume_is_exact(const Recipe& r, int64_t kill_epoch, int64_t kill_step) {
    RunOptions quiet;
    quiet.checkpoint_minutes = 0;
    const Finished straight = run_to_end(r, quiet);

    RunOptions every3 = quiet;
    every3.checkpoint_every_steps = 3;
    TrainHooks kill;
    kill.on_step_end = [&](StepContext& c) {
        if (c.epoch == kill_epoch && c.step == kill_step) throw Killed();
    };
    EXPECT_THROW(run(r, kill, every3), Killed);
    const std::string checkpoint = r.output + ".resume.safetensors";
    ASSERT_TRUE(std::filesystem::exists(checkpoint));

    RunOptions resume = quiet;
    resume.resume = checkpoint;
    std::string log;
    resume.callbacks.log = [&](const std::string& line) { log += line; };
    const Finished resumed = run_to_end(r, resume);
    EXPECT_NE(log.find("in epoch " + std::to_string(kill_epoch) + " after step " +
                       std::to_string((kill_step - 1) / 3 * 3)),
              std::string::npos)
        << log;

    const auto& a = straight.result.history;
    const auto& b = resumed.result.history;
    ASSERT_EQ(a.size(), b.size());
    for (size_t e = 0; e < a.size(); ++e) {
        EXPECT_EQ(a[e].lr, b[e].lr) << "epoch " << e + 1;
        EXPECT_EQ(a[e].train_loss, b[e].train_loss) << "epoch " << e + 1;
        EXPECT_EQ(a[e].train_accuracy, b[e].train_accuracy) << "epoch " << e + 1;
        if (std::isfinite(a[e].val_loss)) {
            EXPECT_EQ(a[e].val_loss, b[e].val_loss) << "epoch " << e + 1;
        }
    }
    EXPECT_EQ(straight.result.test_loss, resumed.result.test_loss);
    ASSERT_EQ(straight.weights.size(), resumed.weights.size());
    ASSERT_FALSE(straight.weights.empty());
    for (size_t i = 0; i < straight.weights.size(); ++i) ASSERT_EQ(straight.weights[i], resumed.weights[i]) << "tensor " << i;
    EXPECT_FALSE(std::filesystem::exists(checkpoint)) << "a finished run leaves no checkpoint";
}

bool moby_dick_installed() {
    TextCorpusOptions co;
    co.sotu = co.gutenberg = co.austen = false;
    return load_text_corpus(co).missing_sources.empty();
}

// A one-layer LM on 2000 tokens of Moby-Dick: seconds per run. `optimizer`
// is the recipe's optimizer object, optionally followed by more keys (a schedule).
Recipe train_run_tiny_lm_recipe(const testio::TempDir& dir, int epochs, const std::string& optimizer) {
    return parse_recipe_json(R"({"model": "llama", "data": "text", "epochs": )" + std::to_string(epochs) +
                                 R"(, "batch_size": 4, "optimizer": )" + optimizer + R"(,
      "lm": {"vocab_size": 300, "dim": 16, "layers": 1, "heads": 2, "kv_heads": 1, "ffn": 32, "context": 16,
             "train_tokens": 2000, "eval_tokens": 1000, "sources": ["moby-dick"]},
      "seed": 3, "output": ")" + dir.file("lm.gguf") + R"("})",
                             dir.file("lm.json"));
}

}  // namespace

TEST(TrainRun, LanguageModelResumedMidEpochMatchesTheUninterruptedRun) {
    if (!moby_dick_installed()) TERN_MISSING_REFERENCE() << "moby-dick text not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const Recipe r = train_run_tiny_lm_recipe(dir, 2, R"({"name": "adamw", "lr": 0.003, "grad_clip": 1.0}, "schedule": {"name": "cosine"})");
    expect_mid_epoch_resume_is_exact(r, 2, 4);  // checkpoint after step 3 of epoch 2
}

TEST(TrainRun, ClassifierResumedMidEpochMatchesTheUninterruptedRun) {
    if (!std::filesystem::exists(data::default_fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz"))
        TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    // SGD with momentum and a batch-norm model: optimizer state and buffers must both come back.
    const Recipe r = parse_recipe_json(R"({"model": "lenet5_bn", "epochs": 2, "batch_size": 32, "train_subset": 320,
        "validation": 64, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}, "schedule": {"name": "cosine"},
        "augment": {"crop_pad": 2, "flip": true}, "seed": 2, "output": ")" + dir.file("m.safetensors") + R"("})",
                                       dir.file("m.json"));
    expect_mid_epoch_resume_is_exact(r, 1, 5);  // checkpoint after step 3 of epoch 1
}

TEST(TrainRun, MidEpochCheckpointPastTheRunsEndIsRefused) {
    if (!moby_dick_installed()) TERN_MISSING_REFERENCE() << "moby-dick text not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    Recipe r = train_run_tiny_lm_recipe(dir, 2, R"({"name": "adamw", "lr": 0.003})");
    RunOptions o;
    o.checkpoint_minutes = 0;
    o.checkpoint_every_steps = 3;
    TrainHooks kill;
    kill.on_step_end = [](StepContext& c) {
        if (c.epoch == 2 && c.step == 4) throw Killed();
    };
    EXPECT_THROW(run(r, kill, o), Killed);
    r.epochs = 1;  // the checkpoint is inside epoch 2
    RunOptions resume;
    resume.resume = r.output + ".resume.safetensors";
    try {
        run(r, {}, resume);
        FAIL() << "resumed past the end";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("inside epoch 2, past the 1 asked for"), std::string::npos) << e.what();
    }
}

TEST(TrainRun, BadMidEpochMetadataIsOneClearError) {
    if (!moby_dick_installed()) TERN_MISSING_REFERENCE() << "moby-dick text not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const Recipe r = train_run_tiny_lm_recipe(dir, 1, R"({"name": "adamw", "lr": 0.003})");
    RunOptions o;
    o.checkpoint_minutes = 0;
    o.checkpoint_every_steps = 3;
    TrainHooks kill;
    kill.on_step_end = [](StepContext& c) {
        if (c.step == 4) throw Killed();
    };
    EXPECT_THROW(run(r, kill, o), Killed);
    const std::string good = r.output + ".resume.safetensors";
    struct Case {
        const char* key;
        const char* value;
        const char* says;
    };
    const Case cases[] = {
        {"tern.epoch_steps_done", "999", "step 999 of an epoch of"},
        {"tern.epoch_steps_done", "-2", "step -2 of an epoch of"},
        {"tern.epoch_loss_sum", "nan", "bad resume metadata"},
        {"tern.epoch_correct", "x", "bad resume metadata: tern.epoch_correct 'x'"},
    };
    for (const Case& c : cases) {
        const io::SafetensorsModel f = io::read_safetensors(good);
        std::map<std::string, std::string> meta(f.infos.at(0).metadata.begin(), f.infos.at(0).metadata.end());
        ASSERT_TRUE(meta.count(c.key)) << c.key;
        meta[c.key] = c.value;
        const std::string bad = dir.file("bad.resume.safetensors");
        io::write_safetensors(bad, f.tensors, meta);
        RunOptions resume;
        resume.resume = bad;
        try {
            run(r, {}, resume);
            ADD_FAILURE() << c.key << "=" << c.value << " was accepted";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
        }
    }
}
