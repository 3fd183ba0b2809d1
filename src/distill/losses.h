#pragma once
// Distillation losses as autograd functions over fp32 Vars. The teacher's
// outputs are constants (no gradient flows into them); every loss is a
// one-element Var whose backward reaches the student's logits or features.
// Each is checked against PyTorch (tests/distill/test_distill_losses.cpp).
#include <cstdint>
#include <vector>

#include "nn/autograd.h"

namespace tern::distill {

// Hinton soft targets: T^2 * KL(softmax(t/T) || softmax(s/T)), summed over the
// last dim and averaged over rows (torch kl_div 'batchmean').
nn::Var soft_target_kd(const nn::Var& student_logits, const nn::Var& teacher_logits, float temperature);

// alpha * soft_target_kd + (1 - alpha) * cross_entropy(student, labels).
nn::Var kd_loss(const nn::Var& student_logits, const nn::Var& teacher_logits, const std::vector<int64_t>& labels,
                float temperature, float alpha);

// FitNets hint: mean squared error between the student's regressed feature map
// and the teacher's (same shape).
nn::Var hint_loss(const nn::Var& regressed_student, const nn::Var& teacher_feature);

// Zagoruyko & Komodakis spatial attention: (N, C, H, W) -> (N, H*W) rows
// sum_c F_c^2, each divided by its L2 norm (eps 1e-12 as torch F.normalize).
nn::Var attention_map(const nn::Var& feature);
// Attention transfer: mean over N*H*W of (attention_map(s) - attention_map(t))^2.
// The channel counts may differ; N, H and W must match.
nn::Var attention_transfer(const nn::Var& student_feature, const nn::Var& teacher_feature);

// Language models, over the rows of (..., V) logits (one row per position),
// averaged over rows:
// forward KL(p_teacher || p_student) (the usual token-level KD),
nn::Var forward_kl(const nn::Var& student_logits, const nn::Var& teacher_logits, float temperature = 1.0f);
// reverse KL(p_student || p_teacher) (MiniLLM's objective, exact over the
// vocabulary instead of sampled): mode-seeking, the student is not pushed to
// cover the teacher's low-probability tail.
nn::Var reverse_kl(const nn::Var& student_logits, const nn::Var& teacher_logits, float temperature = 1.0f);
// Forward KL against a teacher known only by its top-k logits per row
// (a TopkLogits file): the teacher distribution is softmax(values / T) over
// those k tokens, zero elsewhere. indices: rows*k token ids in [0, V).
nn::Var topk_forward_kl(const nn::Var& student_logits, const std::vector<int32_t>& indices,
                        const std::vector<float>& values, int64_t k, float temperature = 1.0f);

}  // namespace tern::distill
