#include "nn/train/train_loop.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "nn/optim/lr_schedule.h"
#include "nn/train/training_run.h"

namespace tern::nn::train {

namespace {
template <class Fn>
Fn chain(Fn a, Fn b) {
    if (!a) return b;
    if (!b) return a;
    return [a = std::move(a), b = std::move(b)](auto&... args) {
        a(args...);
        b(args...);
    };
}
}  // namespace

TrainHooks merge_hooks(TrainHooks first, TrainHooks second) {
    if (first.classifier_forward && second.classifier_forward)
        throw Error("train", "two hooks replace the classifier forward; only one loss can drive a step");
    TrainHooks h;
    h.on_step_begin = chain(std::move(first.on_step_begin), std::move(second.on_step_begin));
    h.after_backward = chain(std::move(first.after_backward), std::move(second.after_backward));
    h.on_step_end = chain(std::move(first.on_step_end), std::move(second.on_step_end));
    h.on_epoch_end = chain(std::move(first.on_epoch_end), std::move(second.on_epoch_end));
    h.classifier_forward = first.classifier_forward ? std::move(first.classifier_forward) : std::move(second.classifier_forward);
    return h;
}

EpochTotals run_epoch(const EpochLoop& loop, const TrainHooks& hooks) {
    const Recipe& r = *loop.recipe;
    Module& model = *loop.model;
    Optimizer& optimizer = *loop.optimizer;
    const int64_t spe = loop.steps_per_epoch;
    model.train();
    const auto params = model.parameters();
    EpochTotals tot;
    tot.epoch = loop.epoch + 1;
    double loss_sum = loop.resume.loss_sum;
    int64_t correct = loop.resume.correct;
    tot.samples = loop.resume.samples;
    tot.steps = loop.resume.steps;
    tot.lr = loop.resume.lr;
    StepContext ctx{model, optimizer};
    ctx.epoch = loop.epoch + 1;
    ctx.steps = spe;
    ctx.progress.seconds = loop.resume.seconds;
    for (int64_t b = loop.resume.steps; loop.next_batch(b); ++b) {
        ctx.step = b + 1;
        ctx.global_step = loop.epoch * spe + b;
        ctx.lr = scheduled_lr(r, ctx.global_step, spe);
        ctx.loss = std::numeric_limits<double>::quiet_NaN();
        // A hook may override the schedule's rate through ctx.lr.
        if (hooks.on_step_begin) hooks.on_step_begin(ctx);
        optimizer.set_lr(ctx.lr);
        tot.lr = ctx.lr;
        optimizer.zero_grad();
        StepLoss s = loop.forward();
        const float lv = s.loss.item();
        if (!std::isfinite(lv))
            throw InputError(r.source, "training diverged (loss " + std::to_string(lv) + " at epoch " +
                                           std::to_string(loop.epoch + 1) + ", step " + std::to_string(b + 1) +
                                           "); lower optimizer.lr");
        ctx.loss = lv;
        s.loss.backward();
        if (hooks.after_backward) hooks.after_backward(ctx);
        if (r.optimizer.grad_clip > 0) clip_grad_norm(params, r.optimizer.grad_clip);
        optimizer.step();
        loss_sum += static_cast<double>(lv) * static_cast<double>(s.samples);
        correct += s.correct;
        tot.samples += s.samples;
        tot.steps = b + 1;
        ctx.running_loss = loss_sum / static_cast<double>(tot.samples);
        ctx.running_accuracy = static_cast<double>(correct) / static_cast<double>(tot.samples);
        ctx.progress.steps = tot.steps;
        ctx.progress.samples = tot.samples;
        ctx.progress.correct = correct;
        ctx.progress.loss_sum = loss_sum;
        ctx.progress.lr = tot.lr;
        if (hooks.on_step_end) hooks.on_step_end(ctx);
    }
    if (tot.samples > 0) {
        tot.loss = loss_sum / static_cast<double>(tot.samples);
        tot.accuracy = static_cast<double>(correct) / static_cast<double>(tot.samples);
    }
    if (hooks.on_epoch_end) hooks.on_epoch_end(model, optimizer, tot);
    return tot;
}

}  // namespace tern::nn::train
