#pragma once
// The accuracy / cost trade-off of a search: which candidates are on the
// Pareto front (no other candidate is at most as costly and at least as
// accurate, one of the two strictly), every candidate as CSV, and a PNG
// scatter of validation accuracy against MACs and against latency with the
// front drawn.
#include <cstddef>
#include <string>
#include <vector>

#include "core/png.h"
#include "nas/search.h"

namespace tern::nas {

// Indices of the points not dominated when cost is minimised and accuracy
// maximised, by cost ascending (equal costs: accuracy descending, then index).
// Points equal in both are all kept; non-finite points are never on it.
std::vector<size_t> pareto_front(const std::vector<double>& cost, const std::vector<double>& accuracy);

// index, arch, params, macs, latency_ms, trained, val_accuracy, pareto_macs,
// pareto_latency, winner: one line per candidate (the fronts over the trained ones).
std::string pareto_csv(const std::vector<CandidateRow>& rows, size_t winner);

// Two panels: validation accuracy (%) against MACs (millions) and against latency (ms).
PlotCanvas render_pareto(const std::vector<CandidateRow>& rows, size_t winner, const std::string& title);

}  // namespace tern::nas
