#include "quant/kmeans_training.h"

#include <filesystem>

#include "core/error.h"
#include "io/shared_weights.h"
#include "nn/train/model_file.h"

namespace tern::quant {

struct CentroidTrainer::State {
    int bits = 4;
    bool started = false;
    std::vector<nn::Var> weights;
    std::vector<SharedCodebook> books;
    std::vector<double> sums;  // scratch: per centroid
    std::vector<int64_t> counts;
};

CentroidTrainer::CentroidTrainer(int bits) : state_(std::make_shared<State>()) { state_->bits = bits; }

const std::vector<SharedCodebook>& CentroidTrainer::codebooks() const { return state_->books; }

void CentroidTrainer::start(nn::Module& model) {
    State& s = *state_;
    s.started = true;
    s.weights.clear();
    for (auto& [name, v] : shared_weight_parameters(model)) s.weights.push_back(v);
    // A resumed run's weights are already shared: clustering them again keeps them exactly.
    s.books = share_model_weights(model, s.bits);
}

void CentroidTrainer::share_gradients() {
    State& s = *state_;
    for (size_t l = 0; l < s.weights.size(); ++l) {
        if (!s.weights[l].has_grad()) continue;
        const SharedCodebook& b = s.books[l];
        float* g = s.weights[l].grad_buffer().data<float>();
        s.sums.assign(b.centroids.size(), 0.0);
        for (size_t i = 0; i < b.assignment.size(); ++i)
            if (b.assignment[i] >= 0) s.sums[b.assignment[i]] += g[i];
        for (size_t i = 0; i < b.assignment.size(); ++i)
            g[i] = b.assignment[i] >= 0 ? static_cast<float>(s.sums[b.assignment[i]]) : 0.0f;
    }
}

void CentroidTrainer::tie_weights() {
    State& s = *state_;
    for (size_t l = 0; l < s.weights.size(); ++l) {
        SharedCodebook& b = s.books[l];
        float* w = s.weights[l].data();
        s.sums.assign(b.centroids.size(), 0.0);
        s.counts.assign(b.centroids.size(), 0);
        for (size_t i = 0; i < b.assignment.size(); ++i)
            if (b.assignment[i] >= 0) {
                s.sums[b.assignment[i]] += w[i];
                ++s.counts[b.assignment[i]];
            }
        for (size_t j = 0; j < b.centroids.size(); ++j)
            if (s.counts[j] > 0) b.centroids[j] = static_cast<float>(s.sums[j] / static_cast<double>(s.counts[j]));
        for (size_t i = 0; i < b.assignment.size(); ++i) w[i] = b.assignment[i] >= 0 ? b.centroids[b.assignment[i]] : 0.0f;
    }
}

nn::train::TrainHooks CentroidTrainer::hooks() {
    nn::train::TrainHooks h;
    CentroidTrainer self = *this;  // shares the state
    h.on_step_begin = [self](nn::train::StepContext& c) mutable {
        if (!self.state_->started) self.start(c.model);
    };
    h.after_backward = [self](nn::train::StepContext&) mutable { self.share_gradients(); };
    h.on_step_end = [self](nn::train::StepContext&) mutable { self.tie_weights(); };
    return h;
}

KmeansRun run_kmeans_training(const nn::train::Recipe& r, const nn::train::RunOptions& o) {
    {
        const auto init = nn::train::load_init_classifier(r.init, r.model, r.source);
        if (init.metadata.count("tern.qat")) throw InputError(r.source, "key 'init': " + r.init + " is a QAT model; share an fp32 one");
        if (shared_weight_parameters(*init.model).empty())
            throw InputError(r.source, "key 'kmeans': model '" + r.model + "' has no Linear or Conv weights");
    }
    CentroidTrainer trainer(r.kmeans.bits);
    KmeansRun res;
    res.run = nn::train::run(r, trainer.hooks(), o);
    // The trainer wrote the tied model in F32; store it shared (lossless: each layer holds <= 2^bits values).
    auto written = nn::train::load_classifier(r.output);
    written.metadata.erase(io::kCompressionKey);
    res.layers = save_shared_classifier(r.output, *written.model, written.metadata,
                                        {r.kmeans.bits, r.kmeans.index_bits, r.kmeans.huffman});
    res.init_bytes = std::filesystem::file_size(r.init);
    res.output_bytes = std::filesystem::file_size(r.output);
    return res;
}

}  // namespace tern::quant
