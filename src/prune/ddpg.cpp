#include "prune/ddpg.h"

#include <algorithm>
#include <cmath>

namespace tern::prune {
namespace {

float ddpg_sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

std::vector<float> ddpg_with_action(const std::vector<float>& state, float action) {
    std::vector<float> x = state;
    x.push_back(action);
    return x;
}

}  // namespace

DdpgMlp::DdpgMlp(const std::vector<int64_t>& sizes, float last_init, std::mt19937_64& rng) : sizes_(sizes) {
    const size_t layers = sizes.size() - 1;
    for (size_t l = 0; l < layers; ++l) {
        const int64_t in = sizes[l], out = sizes[l + 1];
        const float bound = l + 1 == layers ? last_init : 1.0f / std::sqrt(float(in));
        std::uniform_real_distribution<float> u(-bound, bound);
        std::vector<float> w(static_cast<size_t>(in * out)), b(static_cast<size_t>(out));
        for (float& v : w) v = u(rng);
        for (float& v : b) v = u(rng);
        w_.push_back(w);
        b_.push_back(b);
    }
    gw_ = mw_ = vw_ = w_;
    gb_ = mb_ = vb_ = b_;
    zero_grad();
    for (auto* group : {&mw_, &vw_, &mb_, &vb_})
        for (auto& v : *group) std::fill(v.begin(), v.end(), 0.0f);
}

float DdpgMlp::forward(const std::vector<float>& x) {
    acts_.assign(1, x);
    for (size_t l = 0; l < w_.size(); ++l) {
        const int64_t in = sizes_[l], out = sizes_[l + 1];
        const std::vector<float>& a = acts_.back();
        std::vector<float> y(static_cast<size_t>(out));
        for (int64_t o = 0; o < out; ++o) {
            float s = b_[l][size_t(o)];
            for (int64_t i = 0; i < in; ++i) s += w_[l][size_t(o * in + i)] * a[size_t(i)];
            y[size_t(o)] = l + 1 == w_.size() ? s : std::max(s, 0.0f);
        }
        acts_.push_back(std::move(y));
    }
    return acts_.back()[0];
}

std::vector<float> DdpgMlp::backward(float dout) {
    std::vector<float> d{dout};
    for (size_t l = w_.size(); l-- > 0;) {
        const int64_t in = sizes_[l], out = sizes_[l + 1];
        const std::vector<float>& a = acts_[l];
        std::vector<float> din(static_cast<size_t>(in), 0.0f);
        for (int64_t o = 0; o < out; ++o) {
            // ReLU layers pass the gradient only where their output was positive.
            const float g = l + 1 == w_.size() || acts_[l + 1][size_t(o)] > 0 ? d[size_t(o)] : 0.0f;
            if (g == 0.0f) continue;
            gb_[l][size_t(o)] += g;
            for (int64_t i = 0; i < in; ++i) {
                gw_[l][size_t(o * in + i)] += g * a[size_t(i)];
                din[size_t(i)] += g * w_[l][size_t(o * in + i)];
            }
        }
        d = std::move(din);
    }
    return d;
}

void DdpgMlp::zero_grad() {
    for (auto* group : {&gw_, &gb_})
        for (auto& v : *group) std::fill(v.begin(), v.end(), 0.0f);
}

void DdpgMlp::adam_step(float lr) {
    constexpr float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    ++t_;
    const float c1 = 1.0f - std::pow(b1, float(t_)), c2 = 1.0f - std::pow(b2, float(t_));
    auto update = [&](std::vector<float>& p, const std::vector<float>& g, std::vector<float>& m, std::vector<float>& v) {
        for (size_t i = 0; i < p.size(); ++i) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            p[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
        }
    };
    for (size_t l = 0; l < w_.size(); ++l) {
        update(w_[l], gw_[l], mw_[l], vw_[l]);
        update(b_[l], gb_[l], mb_[l], vb_[l]);
    }
}

void DdpgMlp::soft_update_from(const DdpgMlp& src, float tau) {
    for (size_t l = 0; l < w_.size(); ++l) {
        for (size_t i = 0; i < w_[l].size(); ++i) w_[l][i] = tau * src.w_[l][i] + (1 - tau) * w_[l][i];
        for (size_t i = 0; i < b_[l].size(); ++i) b_[l][i] = tau * src.b_[l][i] + (1 - tau) * b_[l][i];
    }
}

Ddpg::Ddpg(int64_t state_size, const DdpgOptions& options) : o_(options), rng_(options.seed), sigma_(options.sigma) {
    const int64_t h = o_.hidden;
    actor_ = DdpgMlp({state_size, h, h, 1}, 3e-3f, rng_);
    critic_ = DdpgMlp({state_size + 1, h, h, 1}, 3e-3f, rng_);
    actor_target_ = actor_;
    critic_target_ = critic_;
}

double Ddpg::act(const std::vector<float>& state) { return ddpg_sigmoid(actor_.forward(state)); }

double Ddpg::explore(const std::vector<float>& state) {
    const double mu = act(state);
    if (sigma_ <= 0) return mu;
    // Truncated normal on [0, 1] by rejection; the mean itself if [0, 1] is
    // far in the tail (never with sigma >= 0.05).
    std::normal_distribution<double> n(mu, sigma_);
    for (int k = 0; k < 1000; ++k) {
        const double a = n(rng_);
        if (a >= 0 && a <= 1) return a;
    }
    return mu;
}

double Ddpg::random_action() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

void Ddpg::observe(DdpgTransition t) {
    if (buffer_.size() < size_t(o_.buffer)) {
        buffer_.push_back(std::move(t));
        return;
    }
    buffer_[next_slot_] = std::move(t);
    next_slot_ = (next_slot_ + 1) % buffer_.size();
}

void Ddpg::update() {
    if (buffer_.size() < size_t(o_.batch)) return;
    std::vector<const DdpgTransition*> batch;
    std::uniform_int_distribution<size_t> pick(0, buffer_.size() - 1);
    double mean_reward = 0;
    for (int64_t i = 0; i < o_.batch; ++i) {
        batch.push_back(&buffer_[pick(rng_)]);
        mean_reward += batch.back()->reward;
    }
    mean_reward /= double(o_.batch);
    baseline_ = have_baseline_ ? baseline_ + o_.baseline_alpha * (mean_reward - baseline_) : mean_reward;
    have_baseline_ = true;
    const float inv_b = 1.0f / float(o_.batch);
    // Critic: mean squared error to r - baseline + gamma * Q'(s', mu'(s')).
    critic_.zero_grad();
    for (const DdpgTransition* t : batch) {
        float y = t->reward - float(baseline_);
        if (!t->done && o_.gamma != 0) {
            const float a1 = ddpg_sigmoid(actor_target_.forward(t->next_state));
            y += o_.gamma * critic_target_.forward(ddpg_with_action(t->next_state, a1));
        }
        const float q = critic_.forward(ddpg_with_action(t->state, t->action));
        critic_.backward(2.0f * (q - y) * inv_b);
    }
    critic_.adam_step(o_.critic_lr);
    // Actor: ascend Q(s, mu(s)) through the critic's input gradient.
    actor_.zero_grad();
    for (const DdpgTransition* t : batch) {
        const float z = actor_.forward(t->state), a = ddpg_sigmoid(z);
        critic_.forward(ddpg_with_action(t->state, a));
        const float dq_da = critic_.backward(1.0f).back();
        actor_.backward(-dq_da * a * (1 - a) * inv_b);
    }
    critic_.zero_grad();
    actor_.adam_step(o_.actor_lr);
    actor_target_.soft_update_from(actor_, o_.tau);
    critic_target_.soft_update_from(critic_, o_.tau);
}

void Ddpg::end_episode() { sigma_ *= o_.sigma_decay; }

}  // namespace tern::prune
