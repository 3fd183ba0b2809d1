// Centroid fine-tuning (quant/kmeans_training.h): one SGD step on a tied
// Linear equals the hand-computed centroid update c -= lr * sum of its
// weights' gradients; pruned zeros get no gradient and stay zero.
#include <gtest/gtest.h>

#include "nn/modules/linear.h"
#include "nn/optim/optimizer.h"
#include "quant/kmeans_training.h"

using namespace tern;

TEST(KmeansTraining, SharedGradientStepEqualsTheHandComputedCentroidUpdate) {
    nn::Linear fc(3, 2, false, 1);
    // Two distinct nonzero values and a pruned zero: 1-bit sharing keeps them exactly.
    const float w0[6] = {0.5f, -0.25f, 0.5f, 0.0f, -0.25f, 0.5f};
    std::copy(w0, w0 + 6, fc.weight.data());
    quant::CentroidTrainer trainer(1);
    trainer.start(fc);
    ASSERT_EQ(trainer.codebooks().size(), 1u);
    EXPECT_EQ(trainer.codebooks()[0].centroids, (std::vector<float>{-0.25f, 0.5f}));
    const float g[6] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
    std::copy(g, g + 6, fc.weight.grad_buffer().data<float>());
    trainer.share_gradients();
    // Cluster 0.5 holds weights 0, 2, 5 (grads 1 + 3 + 6 = 10); -0.25 holds 1, 4 (2 + 5 = 7); weight 3 is pruned.
    const float* gs = fc.weight.grad().data<float>();
    EXPECT_EQ(std::vector<float>(gs, gs + 6), (std::vector<float>{10, 7, 10, 0, 7, 10}));
    nn::SGD sgd({fc.weight}, {.lr = 0.01f});
    sgd.step();
    trainer.tie_weights();
    const float* w = fc.weight.data();
    const float want[6] = {0.5f - 0.1f, -0.25f - 0.07f, 0.5f - 0.1f, 0.0f, -0.25f - 0.07f, 0.5f - 0.1f};
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(w[i], want[i], 1e-6f) << i;
    EXPECT_EQ(w[0], w[2]);
    EXPECT_EQ(w[3], 0.0f);
    EXPECT_FLOAT_EQ(trainer.codebooks()[0].centroids[1], 0.4f);
}
