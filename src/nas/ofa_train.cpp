#include "nas/ofa_train.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numbers>

#include "core/error.h"
#include "nas/proxyless.h"
#include "nn/data/batch_loader.h"
#include "nn/data/rng.h"
#include "nn/modules/norm.h"
#include "nn/ops.h"
#include "nn/optim/optimizer.h"
#include "nn/train/batch_norm_recalibration.h"

namespace tern::nas {
namespace {

using nn::Var;

void check_train_options(const OfaTrainOptions& o) {
    if (o.epochs_per_phase < 1 || o.epochs_per_phase > 1000) throw UsageError("--epochs", "must be in [1, 1000]");
    if (o.max_steps_per_phase < 0) throw UsageError("ofa", "steps per phase must be positive");
    if (o.subnets_per_step < 1 || o.subnets_per_step > 16) throw UsageError("ofa", "subnets per step must be in [1, 16]");
    if (o.batch_size < 1) throw UsageError("batch size", "must be positive");
    if (!(o.lr > 0) || !(o.kd_temperature > 0) || !(o.kd_weight >= 0)) throw UsageError("ofa", "positive rates and temperature needed");
}

template <class T>
T pick_one(const std::vector<T>& v, data::Rng& rng) {
    return v[rng.below(v.size())];
}

}  // namespace

Arch sample_subnet(const Space& s, const Arch& largest, const std::string& phase, data::Rng& rng) {
    if (phase != "kernel" && phase != "depth" && phase != "expansion") throw Error("ofa", "unknown phase '" + phase + "'");
    Arch a = largest;
    for (size_t i = 0; i < a.stages.size(); ++i) {
        auto& blocks = a.stages[i].blocks;
        if (phase != "kernel") blocks.resize(static_cast<size_t>(pick_one(s.stages[i].depths, rng)));
        for (BlockArch& b : blocks) {
            b.kernel = pick_one(s.kernels, rng);
            if (phase == "expansion") b.expansion = pick_one(s.expansions, rng);
        }
    }
    return a;
}

void recalibrate_batch_norm(nn::models::MobileNetV2& m, const data::ImageDataset& data, int64_t images, int64_t batch_size) {
    if (images < 1 || batch_size < 1) throw UsageError("ofa", "batch-norm recalibration needs images");
    nn::train::recalibrate_batch_norms(m, data, images, batch_size);
}

OfaTrainReport train_progressive(OfaSupernet& net, const Space& s, const data::ImageDataset& train, const OfaTrainOptions& o) {
    check_train_options(o);
    if (train.size() < 1) throw InputError("ofa", "needs training images");
    auto log = [&](const std::string& line) {
        if (o.log) o.log(line);
    };
    const double cpu0 = process_cpu_seconds();
    data::BatchLoader loader = data::borrowed_foreground_loader(train, o.batch_size, o.seed);
    data::Rng rng(data::mix_seed(o.seed, 5));
    const int64_t per_epoch = loader.batches_per_epoch();
    int64_t steps = per_epoch * o.epochs_per_phase;
    if (o.max_steps_per_phase > 0) steps = std::min(steps, o.max_steps_per_phase);

    OfaTrainReport report;
    std::shared_ptr<nn::models::MobileNetV2> teacher;
    int64_t epoch_counter = 0;
    for (const std::string phase : {"largest", "kernel", "depth", "expansion"}) {
        const double phase_cpu0 = process_cpu_seconds();
        if (phase == "expansion") net.sort_expansion_channels();
        if (phase == "kernel") {  // the teacher: the largest network as phase 1 left it
            teacher = net.extract(net.largest());
            teacher->train(false);
        }
        nn::SgdOptions so;
        so.lr = o.lr;
        so.momentum = o.momentum;
        so.weight_decay = o.weight_decay;
        nn::SGD opt(net.full().parameters(), so);
        const int64_t draws = phase == "largest" ? 1 : o.subnets_per_step;
        OfaPhase rep;
        rep.name = phase;
        std::vector<double> losses;
        int64_t step = 0;
        while (step < steps) {
            loader.start_epoch(epoch_counter++);
            data::Batch batch;
            while (step < steps && loader.next(batch)) {
                const double lr = 0.5 * o.lr * (1 + std::cos(std::numbers::pi * static_cast<double>(step) / static_cast<double>(steps)));
                opt.zero_grad();
                const Var x(batch.images);
                Var soft;
                if (teacher) {
                    nn::NoGradGuard no_grad;
                    soft = teacher->forward(x);
                }
                double step_loss = 0;
                for (int64_t k = 0; k < draws; ++k) {
                    const Arch a = phase == "largest" ? net.largest() : sample_subnet(s, net.largest(), phase, rng);
                    auto sub = net.extract(a);
                    const Var logits = sub->forward(x);
                    Var loss = nn::cross_entropy(logits, batch.targets());
                    if (teacher && o.kd_weight > 0)
                        loss = nn::add(loss, nn::mul_scalar(nn::kd_kl_div(logits, soft, o.kd_temperature), o.kd_weight));
                    const double v = loss.item();
                    if (!std::isfinite(v))
                        throw InputError("search", format("supernet training diverged in the %s phase at step %lld", phase.c_str(), (long long)step + 1));
                    loss.backward();
                    net.accumulate_grads(*sub, a);
                    net.store_buffers(*sub, a);
                    step_loss += v / static_cast<double>(draws);
                }
                opt.set_lr(static_cast<float>(lr));
                opt.step();
                losses.push_back(step_loss);
                ++step;
                if (step == steps || step % std::max<int64_t>(1, steps / 4) == 0)
                    log(format("[ofa %s %lld/%lld] loss %.4f (lr %.4f)\n", phase.c_str(), (long long)step, (long long)steps, step_loss, lr));
            }
            if (per_epoch == 0) break;
        }
        const size_t tenth = std::max<size_t>(1, losses.size() / 10);
        for (size_t i = 0; i < tenth && i < losses.size(); ++i) {
            rep.first_loss += losses[i] / static_cast<double>(tenth);
            rep.last_loss += losses[losses.size() - 1 - i] / static_cast<double>(tenth);
        }
        rep.steps = step;
        rep.cpu_seconds = process_cpu_seconds() - phase_cpu0;
        report.phases.push_back(rep);
    }
    report.cpu_seconds = process_cpu_seconds() - cpu0;
    return report;
}

}  // namespace tern::nas
