#pragma once
// The input-Hessian steps GPTQ (quant/gptq.h) and SparseGPT (prune/sparsegpt.h)
// share, as the papers' reference code does them: dead inputs (H_jj = 0) get
// H_jj = 1 and zero weights, H is dampened by damp × mean(diag H), and the
// upper Cholesky factor U of H^-1 (H^-1 = U^T U) drives the column updates.
#include <cstdint>
#include <span>
#include <vector>

namespace tern::quant {

// Solves A x = b in place by Cholesky (A: (n, n) symmetric positive definite,
// overwritten by its factor; b becomes x); false, with A and b spoiled, if A is
// not positive definite.
bool cholesky_solve(std::vector<double>& a, int64_t n, std::vector<double>& b);

// InputError(where) unless `hessian` holds cols² finite values and damp >= 0.
void check_hessian(std::span<const double> hessian, int64_t cols, double damp, const char* where);

// h: (n, n); wt: the weights transposed, (n, rows), a column contiguous.
// Sets H_jj = 1 and zeroes column j of wt for every j with H_jj = 0; returns
// how many there were.
int64_t drop_dead_inputs(std::vector<double>& h, int64_t n, std::vector<double>& wt, int64_t rows);

struct InverseHessianFactor {
    std::vector<double> u;  // (n, n) upper triangular, H^-1 = U^T U of the dampened H
    double damp_used = 0;   // > damp when the requested one was not enough
};

// U for H + damp × mean(diag H) × I. Raises damp by 10× (0.01 from 0) up to 3
// times while H stays indefinite, then throws InputError(where).
InverseHessianFactor dampened_inverse_factor(const std::vector<double>& h, int64_t n, double damp, const char* where);

// The OBS updates on wt (n, rows) from scaled errors e_i = (w_i - q_i) / U_ii:
// column j -= e_i × U_ij. Within a block [i1, i2), column i's error moves the
// columns (i, i2) at once; after the block, the lazy update moves every column
// from i2 on by all of its errors (err: (i2 - i1, rows)).
void update_block_columns(std::vector<double>& wt, int64_t rows, int64_t n, const std::vector<double>& u,
                          const double* err_i, int64_t i, int64_t i2);
void update_later_columns(std::vector<double>& wt, int64_t rows, int64_t n, const std::vector<double>& u,
                          const std::vector<double>& err, int64_t i1, int64_t i2);

}  // namespace tern::quant
