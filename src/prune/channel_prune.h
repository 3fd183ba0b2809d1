#pragma once
// Physical channel pruning of a classifier: whole output channels (filters,
// neurons, an inverted residual's expanded channels) are removed together with
// everything that depends on them, so the result is a smaller dense model of
// the "pruned:" family (nn/models/pruned.h). A channel group names the tensors
// indexed by the channel as their output (the producing conv / linear, its
// bias, the batch norms after it, a depthwise conv in between) and the
// tensors that read it as an input (the next conv / linear, through a flatten).
// mobilenetv2_tiny's block outputs are tied through the residual adds and are
// not pruned; its expanded channels and head are.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/named_tensor.h"
#include "nn/data/image_dataset.h"
#include "nn/models/pruned.h"
#include "nn/modules/module.h"

namespace tern::prune {

struct ChannelGroup {
    std::string name;                      // width_names(base)[i]
    int64_t channels = 0;                  // current width
    std::vector<std::string> outputs;      // tensors whose dim 0 is the channel (weight first)
    std::vector<std::string> inputs;       // tensors whose dim 1 reads the channel (grouped by `inner` columns)
    std::string batch_norm;                // the gamma last scaling the channel ("" when none)
};

// The groups of a prunable model name (a base or a "pruned:" name), in
// width_names order; InputError("model", ...) when it has none.
std::vector<ChannelGroup> channel_groups(const std::string& model_name);

// regression: LASSO channel choice + least-squares refit (prune/channel_regression.h),
// which has no per-channel score of its own (channel_scores refuses it).
enum class ChannelCriterion { l1, bn, taylor, regression };
// "l1" | "bn" | "taylor" | "regression"; else UsageError("--method", ...).
ChannelCriterion channel_criterion(const std::string& name);

// One score per channel of each group (larger: keep). l1: sum of |w| of the
// producing filter; bn: |gamma| of the batch norm after it (network slimming;
// groups without one use l1); taylor: mean over `batches` calibration batches
// of (sum over the channel's parameters of w * dL/dw)^2 (Molchanov et al.
// 2019). `data` is needed by taylor only.
std::vector<std::vector<double>> channel_scores(nn::UnaryModule& model, const std::string& model_name,
                                                ChannelCriterion c, const data::ImageDataset* data = nullptr,
                                                int64_t batches = 8, int64_t batch_size = 64);

// The `keep[g]` highest-scoring channels of each group, in channel order.
std::vector<std::vector<int64_t>> top_channels(const std::vector<std::vector<double>>& scores,
                                               const std::vector<int64_t>& keep);

// The state of the narrowed model: every output tensor of group g keeps rows
// kept[g], every input tensor the matching columns. `kept[g]` must be sorted,
// distinct, in range and not empty (InputError naming the group otherwise).
std::vector<NamedTensor> slice_channels(const std::vector<NamedTensor>& state, const std::vector<ChannelGroup>& groups,
                                        const std::vector<std::vector<int64_t>>& kept);

struct NarrowedModel {
    std::string model_name;  // "pruned:..."
    std::shared_ptr<nn::UnaryModule> model;  // eval mode
};
// Builds the narrowed model and loads the sliced state into it.
NarrowedModel narrow_model(const nn::UnaryModule& model, const std::string& model_name,
                           const std::vector<std::vector<int64_t>>& kept, int64_t in_channels = 1,
                           int64_t num_classes = 10);

// Widths that keep at most `flops_fraction` of the current MACs, every group
// scaled by the same ratio (the largest that fits), each rounded down to a
// multiple of `multiple` (SIMD-friendly widths run faster; a layer narrower
// than `multiple` is rounded to 1). InputError when the smallest such model is
// above the budget.
std::vector<int64_t> uniform_widths(const nn::models::PrunedArch& current, double flops_fraction,
                                    int64_t in_channels = 1, int64_t num_classes = 10, int64_t multiple = 1);

// Bisection over t in [0, 1] where fits(t) changes once, starting from the
// end `fitting` (0 or 1) that fits: the t nearest the change that still fits
// (40 halvings). The uniform and sensitivity-driven width searches share it.
double bisect_fitting(const std::function<bool(double)>& fits, double fitting);

}  // namespace tern::prune
