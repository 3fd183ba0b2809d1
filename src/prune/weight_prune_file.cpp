#include "prune/weight_prune_file.h"

#include <filesystem>

#include "core/error.h"
#include "core/json_out.h"
#include "core/output_path.h"
#include "nn/models/zoo.h"
#include "nn/train/checkpoint.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"
#include "prune/channel_prune_file.h"
#include "prune/layer_hessian.h"
#include "prune/obs.h"

namespace tern::prune {
namespace {

void check_request(const WeightPruneRequest& r) {
    if (!is_weight_prune_method(r.method))
        throw UsageError("--method", "unknown fine-grained method '" + r.method + "' (known: magnitude, obd, obs)");
    if (!(r.sparsity >= 0 && r.sparsity < 1))
        throw UsageError("--sparsity", format("must be in [0, 1), not %g", r.sparsity));
    if (std::filesystem::path(r.output).extension() != ".safetensors")
        throw UsageError("-o", "a pruned classifier is written as .safetensors, not '" + r.output + "'");
    if (r.calibration_images < 1) throw UsageError("--calib-batches", "needs at least one calibration image");
    if (r.obd_batch < 1) throw UsageError("obd", "batch must be >= 1");
}

// OBS on every prunable weight in model order; the layer's inputs come from
// the model as pruned so far (a fresh copy with the recorder attached).
void obs_prune_model(nn::train::ClassifierFile& f, const std::vector<PrunableWeight>& weights,
                     const data::ImageDataset& calib, const WeightPruneRequest& req, int64_t in_ch, int64_t classes) {
    for (const PrunableWeight& w : weights) {
        const std::string suffix = ".weight";
        if (w.name.size() <= suffix.size() || w.name.substr(w.name.size() - suffix.size()) != suffix)
            throw InputError(req.input, "obs prunes Conv2d and Linear weights; '" + w.name + "' is neither");
        const std::string layer = w.name.substr(0, w.name.size() - suffix.size());
        auto copy = nn::models::make_model(f.model_name, 0, in_ch, classes);
        nn::train::load_module_state(*copy, nn::train::module_state(*f.model), req.input);
        LayerHessian h;
        try {
            h = layer_input_hessian(*copy, layer, calib, req.calibration_images);
        } catch (const InputError&) {
            throw;
        } catch (const Error& e) {
            throw InputError(req.input, e.detail());
        }
        const int64_t rows_per_group = w.rows / h.groups;
        if (h.cols != w.row_size || rows_per_group * h.groups != w.rows)
            throw InputError(req.input, "obs: the input Hessian of '" + layer + "' does not fit its weight");
        float* p = nn::Var(w.param).data();
        double before = 0, loss = 0;
        for (int64_t g = 0; g < h.groups; ++g) {
            float* wg = p + g * rows_per_group * h.cols;
            const std::span<const double> hg(h.h.data() + g * h.cols * h.cols, static_cast<size_t>(h.cols * h.cols));
            // ||X w||² of the dense rows: what the reconstruction error is relative to.
            for (int64_t r = 0; r < rows_per_group; ++r)
                for (int64_t i = 0; i < h.cols; ++i)
                    for (int64_t j = 0; j < h.cols; ++j)
                        before += double(wg[r * h.cols + i]) * hg[i * h.cols + j] * wg[r * h.cols + j];
            const ObsResult o = obs_prune(std::span<const float>(wg, static_cast<size_t>(rows_per_group * h.cols)),
                                          rows_per_group, h.cols, hg, {.sparsity = req.sparsity, .damp = req.damp}, w.name);
            std::copy(o.weights.begin(), o.weights.end(), wg);
            loss += o.loss;
        }
        if (req.log)
            req.log(format("obs %s: %lld x %lld, %lld input rows, relative output error %.4g\n", w.name.c_str(),
                           static_cast<long long>(w.rows), static_cast<long long>(w.row_size),
                           static_cast<long long>(h.input_rows), before > 0 ? loss / before : 0.0));
    }
}

}  // namespace

bool is_weight_prune_method(const std::string& m) { return m == "magnitude" || m == "obd" || m == "obs"; }

WeightPruneReport prune_classifier_weights(const WeightPruneRequest& req) {
    check_request(req);
    check_output_path(req.output, {req.input});
    nn::train::ClassifierFile f = nn::train::load_classifier(req.input);
    if (f.metadata.count("tern.qat"))
        throw InputError(req.input, "a QAT model (tern.qat); prune the fp32 model it was trained from");
    auto meta_int = [&](const char* key, int64_t def) {
        auto it = f.metadata.find(key);  // load_classifier checked its range
        return it == f.metadata.end() ? def : static_cast<int64_t>(std::stoll(it->second));
    };
    const int64_t in_ch = meta_int("tern.in_channels", 1), classes = meta_int("tern.num_classes", 10);
    const std::vector<PrunableWeight> weights = prunable_weights(*f.model);
    if (weights.empty()) throw InputError(req.input, "model '" + f.model_name + "' has no Conv2d or Linear weights to prune");
    WeightPruneReport rep;
    rep.model_name = f.model_name;
    std::shared_ptr<const data::ImageDataset> train;
    if (req.method != "magnitude") {
        // The TRAIN split of the file's recipe (its validation part held out).
        train = nn::train::load_train_data(stored_recipe(f, req.input)).train;
        rep.calibration_images = std::min(req.calibration_images, train->size());
    }
    if (req.method == "obs") {
        obs_prune_model(f, weights, *train, req, in_ch, classes);
    } else {
        GradientStats stats;
        const Criterion c = criterion_from_name(req.method);
        if (c == Criterion::obd)
            stats = accumulate_gradients(*f.model, weights, *train, (rep.calibration_images + req.obd_batch - 1) / req.obd_batch,
                                         req.obd_batch);
        apply_masks(weights, layerwise_masks(saliency(c, weights, &stats), req.sparsity));
    }
    std::map<std::string, std::string> meta = f.metadata;
    for (const char* stale : {"tern.test_accuracy", "tern.test_loss", "tern.val_accuracy"}) meta.erase(stale);
    meta["tern.weight_prune"] = Json{{"method", req.method}, {"sparsity", req.sparsity},
                                     {"calibration_images", rep.calibration_images}}.dump();
    nn::train::save_classifier(req.output, *f.model, meta);
    rep.layers = measure_sparsity(prunable_weights(*nn::train::load_classifier(req.output).model));
    return rep;
}

}  // namespace tern::prune
