#include "nas/pareto.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/line_chart.h"

namespace tern::nas {
namespace {

// Front membership of every row over the trained rows, by cost `cost_of`.
template <class CostOf>
std::vector<bool> on_front(const std::vector<CandidateRow>& rows, CostOf cost_of) {
    std::vector<double> cost, acc;
    std::vector<size_t> row_of;
    for (size_t i = 0; i < rows.size(); ++i)
        if (rows[i].trained) {
            cost.push_back(cost_of(rows[i]));
            acc.push_back(rows[i].val_accuracy);
            row_of.push_back(i);
        }
    std::vector<bool> in(rows.size(), false);
    for (size_t k : pareto_front(cost, acc)) in[row_of[k]] = true;
    return in;
}

std::string csv_value(double v) { return std::isfinite(v) ? format("%.6g", v) : ""; }

double macs_m(const CandidateRow& r) { return static_cast<double>(r.cost.macs) / 1e6; }
double latency(const CandidateRow& r) { return r.latency_ms > 0 ? r.latency_ms : NAN; }

ChartPanel scatter_panel(const std::vector<CandidateRow>& rows, size_t winner, const std::string& title,
                         const std::string& x_label, double (*cost_of)(const CandidateRow&)) {
    ChartPanel panel;
    panel.title = title;
    panel.x_label = x_label;
    panel.integer_x = false;
    ChartSeries all{"CANDIDATES", {}, {}, 0x9a9a9a};
    all.connect = false;
    ChartSeries front{"PARETO FRONT", {}, {}, 0xd62728};
    ChartSeries win{"WINNER", {}, {}, 0x1f77b4};
    win.connect = false;
    std::vector<double> cost, acc;
    std::vector<size_t> row_of;
    for (size_t i = 0; i < rows.size(); ++i) {
        if (!rows[i].trained) continue;
        const double x = cost_of(rows[i]), y = 100 * rows[i].val_accuracy;
        all.x.push_back(x);
        all.y.push_back(y);
        cost.push_back(x);
        acc.push_back(y);
        row_of.push_back(i);
        if (i == winner) {
            win.x.push_back(x);
            win.y.push_back(y);
        }
    }
    for (size_t k : pareto_front(cost, acc)) {
        front.x.push_back(cost[k]);
        front.y.push_back(acc[k]);
    }
    panel.series = {all, front, win};
    return panel;
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<double>& cost, const std::vector<double>& accuracy) {
    if (cost.size() != accuracy.size()) throw InputError("pareto", "cost and accuracy differ in length");
    std::vector<size_t> order;
    for (size_t i = 0; i < cost.size(); ++i)
        if (std::isfinite(cost[i]) && std::isfinite(accuracy[i])) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return cost[a] != cost[b] ? cost[a] < cost[b] : accuracy[a] > accuracy[b];
    });
    // Scanning by cost: a point is on the front when it is more accurate than
    // every cheaper (or equally cheap and more accurate) point, or equal to the
    // last point taken in both.
    std::vector<size_t> front;
    for (size_t i : order) {
        if (front.empty() || accuracy[i] > accuracy[front.back()]) front.push_back(i);
        else if (accuracy[i] == accuracy[front.back()] && cost[i] == cost[front.back()]) front.push_back(i);
    }
    return front;
}

std::string pareto_csv(const std::vector<CandidateRow>& rows, size_t winner) {
    const std::vector<bool> by_macs = on_front(rows, macs_m), by_latency = on_front(rows, latency);
    std::string s = "index,arch,params,macs,latency_ms,trained,val_accuracy,pareto_macs,pareto_latency,winner\n";
    for (size_t i = 0; i < rows.size(); ++i) {
        const CandidateRow& r = rows[i];
        std::string quoted;
        for (char c : arch_to_string(r.arch)) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        s += format("%zu,\"%s\",%lld,%lld,%s,%d,%s,%d,%d,%d\n", i, quoted.c_str(), (long long)r.cost.params,
                    (long long)r.cost.macs, csv_value(latency(r)).c_str(), r.trained ? 1 : 0,
                    r.trained ? csv_value(r.val_accuracy).c_str() : "", by_macs[i] ? 1 : 0, by_latency[i] ? 1 : 0,
                    i == winner ? 1 : 0);
    }
    return s;
}

PlotCanvas render_pareto(const std::vector<CandidateRow>& rows, size_t winner, const std::string& title) {
    return render_line_charts({scatter_panel(rows, winner, title + " VAL ACC % VS MACS", "MACS (M)", macs_m),
                               scatter_panel(rows, winner, title + " VAL ACC % VS LATENCY", "LATENCY MS", latency)},
                              600, 380);
}

}  // namespace tern::nas
