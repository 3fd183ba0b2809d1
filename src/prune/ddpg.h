#pragma once
// A small DDPG agent (Lillicrap et al. 2016) for AMC's per-layer channel
// ratios (prune/amc.h): a continuous action in [0, 1] per state. Actor:
// state -> 2 hidden ReLU layers -> sigmoid; critic: (state, action) -> 2
// hidden ReLU layers -> Q. Replay buffer, target networks with soft updates,
// truncated-normal exploration around the actor's action whose sigma decays
// per episode after the warm-up, and a moving-average reward baseline
// subtracted from each sampled batch (as AMC's published agent does).
// Written by hand on std::vector<float> (a few thousand weights; tern's
// autograd would cost more in bookkeeping than the arithmetic) so it is
// deterministic for a seed on any thread count.
#include <cstdint>
#include <random>
#include <vector>

namespace tern::prune {

// A fully connected ReLU network with one output, trained by Adam.
class DdpgMlp {
public:
    DdpgMlp() = default;
    // sizes: input, hidden..., 1. The last layer starts in +-last_init (small
    // outputs at first, as in DDPG), the others in +-1/sqrt(fan_in).
    DdpgMlp(const std::vector<int64_t>& sizes, float last_init, std::mt19937_64& rng);
    // The output (before any squashing) for one input; keeps the activations
    // for backward().
    float forward(const std::vector<float>& x);
    // Adds d(out)/d(params) * dout to the gradients and returns d(out)/d(input) * dout,
    // for the input of the last forward().
    std::vector<float> backward(float dout);
    void zero_grad();
    void adam_step(float lr);  // on the accumulated gradients (callers scale them by 1/batch)
    void soft_update_from(const DdpgMlp& src, float tau);  // this = tau * src + (1 - tau) * this
    int64_t input_size() const { return sizes_.empty() ? 0 : sizes_.front(); }

private:
    std::vector<int64_t> sizes_;
    std::vector<std::vector<float>> w_, b_, gw_, gb_, mw_, mb_, vw_, vb_;  // per layer, w row-major [out][in]
    std::vector<std::vector<float>> acts_;  // input and each layer's post-activation output
    int64_t t_ = 0;
};

struct DdpgOptions {
    int64_t hidden = 64;
    float actor_lr = 1e-4f, critic_lr = 1e-3f;
    float tau = 0.01f;        // soft target update
    float gamma = 1.0f;       // discount of the bootstrapped target
    int64_t batch = 64;
    int64_t buffer = 2000;    // transitions kept (oldest dropped)
    double sigma = 0.5;       // exploration noise at the first episode after warm-up
    double sigma_decay = 0.95;  // per episode
    double baseline_alpha = 0.5;  // moving average of the batch's mean reward
    uint64_t seed = 1;
};

struct DdpgTransition {
    std::vector<float> state, next_state;
    float action = 0, reward = 0;
    bool done = false;
};

class Ddpg {
public:
    Ddpg(int64_t state_size, const DdpgOptions& options);
    // The actor's action for `state` (no noise).
    double act(const std::vector<float>& state);
    // The actor's action with truncated-normal noise of the current sigma, in [0, 1].
    double explore(const std::vector<float>& state);
    // Uniform in [0, 1] (warm-up episodes).
    double random_action();
    void observe(DdpgTransition t);
    // One critic and one actor step on a batch sampled from the buffer, then
    // the soft target updates. No-op while the buffer holds fewer than `batch`.
    void update();
    // Multiplies sigma by the decay (call once per episode after the warm-up).
    void end_episode();
    double sigma() const { return sigma_; }
    double baseline() const { return baseline_; }
    size_t buffer_size() const { return buffer_.size(); }

private:
    DdpgOptions o_;
    std::mt19937_64 rng_;
    DdpgMlp actor_, critic_, actor_target_, critic_target_;
    std::vector<DdpgTransition> buffer_;
    size_t next_slot_ = 0;
    double sigma_;
    double baseline_ = 0;
    bool have_baseline_ = false;
};

}  // namespace tern::prune
