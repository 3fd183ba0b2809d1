#pragma once
// ops::Norm: row normalisations for inference, prepared once.
//   rms    y = x / sqrt(mean(x^2) + eps) * w            (Llama, Qwen2)
//   layer  y = (x - mean) / sqrt(var + eps) * w + b     (GPT-2)
//   batch  y = x * scale[c] + shift[c] per channel, with the running
//          statistics folded once: scale = gamma / sqrt(var + eps),
//          shift = beta - mean * scale (what a frozen BatchNorm computes)
// rms and layer run kernels/elementwise, one row of `features` at a time.
#include <cstdint>
#include <span>
#include <vector>

namespace tern {
class ThreadPool;
struct ElementwiseKernels;
}

namespace tern::ops {

enum class NormKind { rms, layer, batch };

class Norm {
public:
    // Parameters are copied. Throws InputError when a vector's size is not
    // `features` (channels for batch) or eps is negative or not finite.
    static Norm rms(int64_t features, std::span<const float> weight, float eps);
    static Norm layer(int64_t features, std::span<const float> weight, std::span<const float> bias, float eps);
    // Batch norm over (N, channels, spatial): features = channels * spatial.
    static Norm batch(int64_t channels, int64_t spatial, std::span<const float> gamma, std::span<const float> beta,
                      std::span<const float> mean, std::span<const float> var, float eps);

    // x, y: (rows, features); y may be x. Rows in parallel on `pool`
    // once there are enough of them to pay for a hand-off.
    void run(const float* x, float* y, int64_t rows, ThreadPool& pool) const;
    // One row, on the calling thread.
    void run_row(const float* x, float* y) const;

    NormKind kind() const { return kind_; }
    int64_t features() const { return features_; }

private:
    Norm(NormKind kind, int64_t features, float eps);
    NormKind kind_;
    int64_t features_;
    float eps_;
    const ElementwiseKernels* ew_;  // chosen once, as the LLM runtime did
    int64_t spatial_ = 1;       // batch: values per channel in a row
    std::vector<float> a_, b_;  // rms/layer: weight, bias; batch: folded scale, shift
};

}  // namespace tern::ops
