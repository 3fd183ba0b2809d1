#pragma once
// Training recipes: a JSON file naming the model, data, optimizer, schedule,
// augmentation, validation split, seed and output. Parsing is strict: an
// unknown key or a bad value is an InputError naming the file and the key
// ("optimizer.lr"), so a typo never silently falls back to a default.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/json_out.h"

namespace tern::nn::train {

struct OptimizerRecipe {
    std::string name = "sgd";  // "sgd" | "adamw"
    float lr = 0.1f;
    float momentum = 0.9f;  // sgd
    bool nesterov = false;  // sgd
    float weight_decay = 0.0f;
    float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // adamw
    float grad_clip = 0.0f;  // max global grad norm; 0 = off
};

struct ScheduleRecipe {
    std::string name = "cosine";  // "cosine" | "step" | "constant"
    double warmup_epochs = 0;     // linear warm-up, fractions allowed
    float min_lr = 0.0f;          // cosine floor
    double step_epochs = 10;      // step: multiply by gamma every step_epochs
    float gamma = 0.1f;
};

struct AugmentRecipe {
    int crop_pad = 0;
    bool flip = false;
};

// Language-model recipes (data "text", model "llama"): the architecture, the
// tokenizer trained on the training split, and how much of the corpus to use.
struct LmRecipe {
    int64_t vocab_size = 4096;  // BPE vocabulary including the one special token
    int64_t dim = 256, layers = 4, heads = 4, kv_heads = 4, ffn = 768;
    int64_t context = 256;       // training window in tokens (BOS + context - 1 text tokens)
    float rope_theta = 10000.0f;
    bool tied_embeddings = true;
    std::vector<std::string> sources = {"sotu", "austen", "gutenberg", "moby-dick"};
    int64_t train_tokens = 0;    // use only the first N training tokens (0 = all); for quick runs
    int64_t eval_tokens = 0;     // validate on the first N validation tokens (0 = all)
    std::string gguf_type = "f16";  // weight type of the exported GGUF (f32, f16, bf16, q8_0, ...)
};

// Pruning during training (the prune/ floor runs it through TrainHooks; this is
// only what the recipe says). Either `sparsity` (fraction of the prunable
// Linear / Conv weights set to zero) or an N:M `pattern`.
struct PruneRecipe {
    std::string method = "magnitude";  // "magnitude" | "taylor" | "obd"
    std::string scope = "layer";       // "layer" (each tensor to the target) | "global" (one threshold)
    double sparsity = 0;               // final target in [0, 1)
    double initial_sparsity = 0;       // agp: s_i
    int64_t pattern_n = 0, pattern_m = 0;  // N:M (0: none): keep N of every M along a weight row
    std::string schedule = "oneshot";  // "oneshot" | "iterative" | "agp"
    int64_t start_epoch = 1;           // 1-based epoch whose first step prunes first
    int64_t end_epoch = 1;             // iterative / agp: the final sparsity is reached at this epoch's start
    int64_t frequency_steps = 100;     // agp: delta t
    int64_t rounds = 4;                // iterative: prune-retrain rounds
    int64_t calibration_batches = 8;   // taylor / obd: training batches the gradients are accumulated over
};

// Knowledge distillation while a classifier trains (the distill/ floor runs it
// through TrainHooks): a teacher classifier runs in eval mode on the same
// augmented batch; its softened logits (and for "fitnets" / "attention" its
// feature maps at `layers`) enter the student's loss.
struct DistillRecipe {
    std::string teacher;        // classifier file (.safetensors)
    std::string teacher_model;  // zoo name when the file's metadata does not say
    std::string loss = "kd";    // "kd" | "fitnets" | "attention"
    float temperature = 4.0f;
    float alpha = 0.9f;          // loss = alpha * KD + (1 - alpha) * CE (+ feature_weight * feature term)
    float feature_weight = 1.0f;  // fitnets default 1, attention default 1000 (Zagoruyko's beta)
    std::vector<std::pair<std::string, std::string>> layers;  // (student point, teacher point)
};

// Quantization-aware training (quant/qat_* runs it; nn/modules/fake_quant.h
// holds the quantizers). Starts from the recipe's trained `init` model.
struct QatRecipe {
    std::string method = "lsq";  // "ste" (observer-driven) | "lsq" (learned step) | "pact" (learned clip)
    int weight_bits = 4, act_bits = 8;  // in [2, 8]
    bool per_channel = true;            // weights: one scale per output channel
    int64_t calibration_batches = 8;    // training batches the activation scales start from
    int64_t freeze_bn_epoch = 0;        // >= 1: batch norm uses its running statistics from this epoch on; 0: never
    bool fold_bn = false;               // fake-quantize conv weights with their BatchNorm folded in (deployed grid)
};

// K-means weight sharing with centroid fine-tuning (quant/kmeans_training.h):
// starts from the trained (or pruned) `init` model; the output is the
// compressed model file (codebooks + codes, io/shared_weights.h).
struct KmeansRecipe {
    int bits = 4;          // at most 2^bits shared values per layer, in [1, 8]
    int index_bits = 5;    // pruned layers: width of the relative index, in [1, 16]
    bool huffman = true;   // Huffman-code the codes and index gaps
};

// Binary / ternary networks (section "binary": bwn | xnor, section "ternary":
// twn | ttq; nn/modules/binary_layer.h). Starts from the recipe's trained `init`.
struct BinaryRecipe {
    std::string method = "bwn";  // "bwn" | "xnor" | "twn" | "ttq"
    float threshold = 0;         // ternary: twn delta = t * mean |w| (0.7), ttq delta = t * max |w| (0.05)
    bool keep_first_last = true; // the first and last Conv2d / Linear stay full precision
};

struct Recipe {
    std::string model;
    std::string data = "fashion-mnist";  // "fashion-mnist" | "text"
    std::string data_dir;  // empty: the dataset's default location
    int64_t epochs = 0;
    int64_t batch_size = 64;
    OptimizerRecipe optimizer;
    ScheduleRecipe schedule;
    AugmentRecipe augment;
    LmRecipe lm;                 // data "text" only
    int64_t validation = 5000;   // training images held out for validation (0 = none)
    int64_t train_subset = 0;    // use only the first N training images (0 = all); for quick runs
    uint64_t seed = 1;
    std::string output;          // checkpoint path
    std::string init;            // classifier file to start from (empty: seeded initialisation)
    bool has_prune = false;      // the recipe has a "prune" section
    PruneRecipe prune;
    bool has_distill = false;    // the recipe has a "distill" section
    DistillRecipe distill;
    bool has_qat = false;        // the recipe has a "qat" section
    QatRecipe qat;
    bool has_kmeans = false;     // the recipe has a "kmeans" section
    KmeansRecipe kmeans;
    bool has_binary = false;     // the recipe has a "binary" or a "ternary" section
    BinaryRecipe binary;
    std::string source;          // where the recipe came from (file path), for messages
};

inline bool is_language_model(const Recipe& r) { return r.data == "text"; }

// Parses and validates; `where` names the source in errors.
Recipe parse_recipe_json(const std::string& text, const std::string& where);
// Reads and parses a recipe file.
Recipe load_recipe(const std::string& path);
// The recipe with every field spelled out (what checkpoints record).
Json recipe_to_json(const Recipe& r);

}  // namespace tern::nn::train
