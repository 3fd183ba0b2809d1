#pragma once
// Zero-shot proxies: scores of an untrained architecture that may rank
// architectures like their trained accuracy would, at the cost of one batch.
// All on the same seeded initialisation and batch (images (N, C, H, W), labels):
//   params, macs  the counts of cost.h
//   grad_norm     L2 norm of the cross-entropy gradient over all parameters
//   snip          sum |g * w| (Lee et al. 2019, connection sensitivity)
//   synflow       sum g * w of R = sum(f(1)) with every weight replaced by |w|,
//                 batch norm in eval mode (Tanaka et al. 2020); data-free
//   naswot        log det of the kernel K_ij = #units where images i and j
//                 agree on whether the ReLU6 is active (Mellor et al. 2021)
// and the rank correlations that judge a proxy against trained accuracy.
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nas/arch.h"

namespace tern::nas {

struct ProxyScores {
    double params = 0, macs = 0, grad_norm = 0, snip = 0, synflow = 0, naswot = 0;
};

// The proxies' names in CSV-column order, and one score by name.
const std::vector<std::string>& proxy_names();
double proxy_value(const ProxyScores& p, const std::string& name);

ProxyScores compute_proxies(const Arch& a, const Tensor& images, const std::vector<int32_t>& labels, uint64_t seed);

// log |det K| of a symmetric positive semi-definite matrix (n x n, row-major);
// -inf when singular.
double log_abs_det(std::vector<double> k, int64_t n);

// Rank correlations of two equally long vectors (ties get average ranks;
// Kendall's is tau-b). NaN when fewer than two values or one is constant.
double spearman(const std::vector<double>& x, const std::vector<double>& y);
double kendall_tau(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace tern::nas
