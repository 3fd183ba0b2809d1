#include "quant/mixed_precision.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "core/error.h"
#include "core/line_chart.h"
#include "graph/executor.h"
#include "graph/qdq_fuse.h"

namespace tern::quant {
namespace {

// The dynamic programme's table is layers x (capacity + 1) bytes: keep it small.
constexpr int64_t kMaxCapacity = 4'000'000;
constexpr int64_t kMaxTableBytes = 256'000'000;

void check_bit_choices(const std::vector<int>& choices) {
    if (choices.empty()) throw UsageError("--bit-choices", "no widths given (choose from 8, 6, 4, 2)");
    std::set<int> seen;
    for (int b : choices) {
        if (b != 8 && b != 6 && b != 4 && b != 2)
            throw UsageError("--bit-choices", format("%d: weight widths are 8, 6, 4 or 2", b));
        if (!seen.insert(b).second) throw UsageError("--bit-choices", format("%d is listed twice", b));
    }
}

double predicted(const std::vector<LayerSensitivity>& table, const std::vector<int>& choices, const std::vector<int>& bits) {
    double sum = 0;
    for (size_t l = 0; l < table.size(); ++l) {
        const size_t k = static_cast<size_t>(std::find(choices.begin(), choices.end(), bits[l]) - choices.begin());
        sum += table[l].loss_increase[k];
    }
    return sum;
}

// Builds the QDQ model at `bits`, runs it integer-only on the validation images.
GraphPtqResult build(const graph::Graph& fp32, const Tensor& calib, const std::vector<LayerSensitivity>& table,
                     const std::vector<int>& bits, const MixedPrecisionOptions& o, const data::ImageDataset& validation,
                     ValidationScore& score) {
    GraphPtqOptions po = o.ptq;
    po.layer_weight_bits.clear();
    for (size_t l = 0; l < table.size(); ++l) po.layer_weight_bits[table[l].layer.node] = bits[l];
    GraphPtqResult r = quantize_graph_static(fp32, calib, po);
    score = score_classifier(graph::fuse_qdq(r.graph), validation, o.batch, o.ptq.where);
    return r;
}

// Marks the points no other point beats in both size and accuracy.
void mark_pareto(std::vector<BitAssignment>& points) {
    for (auto& p : points) {
        p.pareto = std::none_of(points.begin(), points.end(), [&](const BitAssignment& q) {
            return q.bytes <= p.bytes && q.measured.accuracy >= p.measured.accuracy &&
                   (q.bytes < p.bytes || q.measured.accuracy > p.measured.accuracy);
        });
    }
}

}  // namespace

int64_t packed_weight_bytes(const std::vector<QuantizableLayer>& layers, const std::vector<int>& bits) {
    int64_t total_bits = 0;
    for (size_t l = 0; l < layers.size(); ++l) total_bits += layers[l].weights * bits[l];
    return (total_bits + 7) / 8;
}

ValidationScore score_classifier(const graph::Graph& g, const data::ImageDataset& data, int64_t batch, const std::string& where) {
    if (g.inputs.size() != 1 || g.outputs.empty())
        throw InputError(where, format("a classifier graph takes one image input and gives logits; this one has %zu inputs",
                                       g.inputs.size()));
    if (data.size() == 0) throw InputError(where, "the validation set is empty");
    const graph::Executor exec(g);
    const int64_t classes = data.num_classes;
    double loss = 0;
    int64_t correct = 0;
    for (int64_t b = 0; b < data.size(); b += batch) {
        const int64_t rows = std::min(batch, data.size() - b);
        const Tensor x = Tensor::from_floats({rows, data.channels(), data.height(), data.width()},
                                             std::span<const float>(data.image(b), static_cast<size_t>(rows * data.image_numel())));
        const Tensor logits = exec.run({{g.inputs[0], x}}).at(g.outputs[0]).contiguous();
        if (logits.dtype() != DType::f32 || logits.rank() != 2 || logits.dim(0) != rows || logits.dim(1) != classes)
            throw InputError(where, "output '" + g.outputs[0] + "' is " + shape_to_string(logits.shape()) + ", not f32 (N, " +
                                        std::to_string(classes) + ") logits");
        for (int64_t i = 0; i < rows; ++i) {
            const float* z = logits.data<float>() + i * classes;
            const int32_t label = data.labels[static_cast<size_t>(b + i)];
            const int64_t best = std::max_element(z, z + classes) - z;
            double sum = 0;
            for (int64_t k = 0; k < classes; ++k) sum += std::exp(static_cast<double>(z[k]) - z[best]);
            loss += z[best] + std::log(sum) - z[label];
            correct += best == label;
        }
    }
    const double n = static_cast<double>(data.size());
    return {loss / n, static_cast<double>(correct) / n};
}

std::vector<LayerSensitivity> measure_sensitivity(const graph::Graph& prepared, const data::ImageDataset& validation,
                                                  const std::vector<int>& bit_choices, int64_t batch,
                                                  const std::string& where, ValidationScore* fp32_out) {
    check_bit_choices(bit_choices);
    const ValidationScore fp32 = score_classifier(prepared, validation, batch, where);
    if (fp32_out) *fp32_out = fp32;
    std::vector<LayerSensitivity> table;
    for (const QuantizableLayer& layer : quantizable_layers(prepared)) {
        LayerSensitivity s{layer, {}, {}};
        graph::Graph g = prepared;
        const Tensor original = g.initializers.at(layer.weight);
        for (int bits : bit_choices) {
            g.initializers[layer.weight] = fake_quantize_weight(original, layer.axis, bits, where);
            const ValidationScore q = score_classifier(g, validation, batch, where);
            s.loss_increase.push_back(q.loss - fp32.loss);
            s.accuracy.push_back(q.accuracy);
        }
        table.push_back(std::move(s));
    }
    if (table.empty())
        throw InputError(where, "the model has no Conv, Gemm or MatMul with constant f32 weights: nothing to quantize");
    return table;
}

std::optional<std::vector<int>> choose_bits(const std::vector<LayerSensitivity>& table, const std::vector<int>& choices,
                                            int64_t budget_bytes) {
    check_bit_choices(choices);
    const size_t L = table.size(), K = choices.size();
    // Costs in bits, divided by their common factor; when the capacity is still
    // too large, in coarser units rounded up (so a found answer still fits).
    std::vector<std::vector<int64_t>> cost(L, std::vector<int64_t>(K));
    int64_t g = 0;
    for (size_t l = 0; l < L; ++l)
        for (size_t k = 0; k < K; ++k) g = std::gcd(g, cost[l][k] = table[l].layer.weights * choices[k]);
    g = std::max<int64_t>(g, 1);
    const int64_t budget_bits = budget_bytes * 8;
    const int64_t limit = std::min(kMaxCapacity, kMaxTableBytes / static_cast<int64_t>(std::max<size_t>(L, 1)));
    int64_t unit = g;
    if (budget_bits / unit > limit) unit = g * ((budget_bits / g + limit - 1) / limit);
    const int64_t capacity = budget_bits / unit;
    for (auto& row : cost)
        for (auto& c : row) c = (c + unit - 1) / unit;
    constexpr double kNone = std::numeric_limits<double>::infinity();
    // best[c]: least summed loss increase of the layers so far within c units.
    std::vector<double> best(static_cast<size_t>(capacity + 1), 0.0), next(best.size());
    std::vector<std::vector<int8_t>> pick(L, std::vector<int8_t>(best.size(), -1));
    for (size_t l = 0; l < L; ++l) {
        for (int64_t c = 0; c <= capacity; ++c) {
            double v = kNone;
            for (size_t k = 0; k < K; ++k) {
                if (cost[l][k] > c || best[static_cast<size_t>(c - cost[l][k])] == kNone) continue;
                const double cand = best[static_cast<size_t>(c - cost[l][k])] + table[l].loss_increase[k];
                // Equal sums: the cheaper choice.
                if (cand < v || (cand == v && pick[l][static_cast<size_t>(c)] >= 0 &&
                                 cost[l][k] < cost[l][static_cast<size_t>(pick[l][static_cast<size_t>(c)])])) {
                    v = cand;
                    pick[l][static_cast<size_t>(c)] = static_cast<int8_t>(k);
                }
            }
            next[static_cast<size_t>(c)] = v;
        }
        std::swap(best, next);
    }
    if (L == 0 || best[static_cast<size_t>(capacity)] == kNone) return std::nullopt;
    std::vector<int> bits(L);
    int64_t c = capacity;
    for (size_t l = L; l-- > 0;) {
        const int k = pick[l][static_cast<size_t>(c)];
        bits[l] = choices[static_cast<size_t>(k)];
        c -= cost[l][static_cast<size_t>(k)];
    }
    return bits;
}

namespace {

struct Budget {
    graph::Graph prepared;
    std::vector<QuantizableLayer> layers;
    int64_t total_weights = 0, min_bytes = 0, max_bytes = 0, budget_bytes = 0;
    int lo = 0, hi = 0;
    int64_t bytes_at(double avg) const {
        return static_cast<int64_t>(std::ceil(static_cast<double>(total_weights) * avg / 8 - 1e-9));
    }
};

Budget check_budget(const graph::Graph& fp32, const MixedPrecisionOptions& o) {
    check_bit_choices(o.bit_choices);
    const bool by_bits = o.avg_bits != 0, by_bytes = o.budget_bytes != 0;
    if (by_bits == by_bytes) throw UsageError("--avg-bits", "give one budget: --avg-bits B or --size-kb S");
    if (by_bits && !(std::isfinite(o.avg_bits) && o.avg_bits > 0 && o.avg_bits <= 32))
        throw UsageError("--avg-bits", format("%g: must be a number of bits per weight in (0, 32]", o.avg_bits));
    if (by_bytes && o.budget_bytes < 0) throw UsageError("--size-kb", "must be positive");
    if (o.batch < 1) throw UsageError("batch", "validation batch must be at least 1");
    if (o.ptq.adaround || o.ptq.equalize)
        throw UsageError("--method", "mixed chooses widths for nearest rounding; adaround and --equalize are not combined with it");
    Budget b;
    b.prepared = prepare_float_graph(fp32);
    b.layers = quantizable_layers(b.prepared);
    if (b.layers.empty())
        throw InputError(o.ptq.where, "the model has no Conv, Gemm or MatMul with constant f32 weights: nothing to quantize");
    for (const auto& l : b.layers) b.total_weights += l.weights;
    b.lo = *std::min_element(o.bit_choices.begin(), o.bit_choices.end());
    b.hi = *std::max_element(o.bit_choices.begin(), o.bit_choices.end());
    b.min_bytes = packed_weight_bytes(b.layers, std::vector<int>(b.layers.size(), b.lo));
    b.max_bytes = packed_weight_bytes(b.layers, std::vector<int>(b.layers.size(), b.hi));
    b.budget_bytes = by_bits ? b.bytes_at(o.avg_bits) : o.budget_bytes;
    if (b.budget_bytes < b.min_bytes)
        throw InputError(o.ptq.where, format("a weight budget of %.3f KB (%s) is below the smallest model these widths give: "
                                             "%.3f KB with every layer at %d bits",
                                             static_cast<double>(b.budget_bytes) / 1024,
                                             by_bits ? format("%g bits per weight", o.avg_bits).c_str() : "--size-kb",
                                             static_cast<double>(b.min_bytes) / 1024, b.lo));
    return b;
}

}  // namespace

int64_t mixed_budget_bytes(const graph::Graph& fp32, const MixedPrecisionOptions& o) { return check_budget(fp32, o).budget_bytes; }

MixedPrecisionResult quantize_graph_mixed(const graph::Graph& fp32, const Tensor& calib, const data::ImageDataset& validation,
                                          const MixedPrecisionOptions& o) {
    const Budget b = check_budget(fp32, o);
    if (validation.size() == 0) throw InputError(o.ptq.where, "the validation set is empty");
    const std::string& where = o.ptq.where;
    const graph::Graph& prepared = b.prepared;
    const std::vector<QuantizableLayer>& layers = b.layers;
    const int lo = b.lo, hi = b.hi;
    auto bytes_at = [&](double avg) { return b.bytes_at(avg); };

    MixedPrecisionReport rep;
    rep.bit_choices = o.bit_choices;
    rep.validation_images = validation.size();
    rep.total_weights = b.total_weights;
    rep.min_bytes = b.min_bytes;
    rep.max_bytes = b.max_bytes;
    rep.budget_bytes = b.budget_bytes;

    rep.layers = measure_sensitivity(prepared, validation, o.bit_choices, o.batch, where, &rep.fp32);
    const auto chosen = choose_bits(rep.layers, o.bit_choices, rep.budget_bytes);
    if (!chosen) throw InputError(where, "no assignment of the bit choices fits the weight budget");  // guarded above

    MixedPrecisionResult result;
    auto assignment = [&](const std::string& label, const std::vector<int>& bits) {
        BitAssignment a{label, bits, packed_weight_bytes(layers, bits), predicted(rep.layers, o.bit_choices, bits), {}, false};
        return a;
    };
    rep.chosen = assignment("mixed", *chosen);
    result.ptq = build(fp32, calib, rep.layers, rep.chosen.bits, o, validation, rep.chosen.measured);
    if (o.pareto) {
        std::vector<BitAssignment> points{rep.chosen};
        for (int w = lo; w <= hi; ++w) {
            if (const auto bits = choose_bits(rep.layers, o.bit_choices, bytes_at(w))) points.push_back(assignment("mixed", *bits));
        }
        for (int w : o.bit_choices) points.push_back(assignment("uniform", std::vector<int>(layers.size(), w)));
        for (auto& p : points) {
            const auto same = std::find_if(rep.points.begin(), rep.points.end(),
                                           [&](const BitAssignment& q) { return q.bits == p.bits && q.label == p.label; });
            if (same != rep.points.end()) continue;
            const auto measured = std::find_if(rep.points.begin(), rep.points.end(),
                                               [&](const BitAssignment& q) { return q.bits == p.bits; });
            if (measured != rep.points.end()) p.measured = measured->measured;
            else if (p.bits == rep.chosen.bits) p.measured = rep.chosen.measured;
            else (void)build(fp32, calib, rep.layers, p.bits, o, validation, p.measured);
            rep.points.push_back(p);
        }
        std::sort(rep.points.begin(), rep.points.end(), [](const BitAssignment& x, const BitAssignment& y) {
            return x.bytes != y.bytes ? x.bytes < y.bytes : x.label < y.label;
        });
        mark_pareto(rep.points);
        for (const auto& p : rep.points)
            if (p.bits == rep.chosen.bits) rep.chosen.pareto = rep.chosen.pareto || p.pareto;
    }
    result.report = std::move(rep);
    return result;
}

void write_pareto_png(const std::string& path, const MixedPrecisionReport& r) {
    ChartPanel panel{"VALIDATION ACCURACY VS WEIGHT SIZE", {}, "PACKED WEIGHTS (KB)"};
    ChartSeries mixed{"MIXED", {}, {}, 0x1f77b4}, uniform{"UNIFORM", {}, {}, 0xd62728}, front{"PARETO FRONT", {}, {}, 0x2ca02c};
    for (const auto& p : r.points) {
        ChartSeries& s = p.label == "uniform" ? uniform : mixed;
        s.x.push_back(static_cast<double>(p.bytes) / 1024);
        s.y.push_back(100 * p.measured.accuracy);
        if (p.pareto) {
            front.x.push_back(static_cast<double>(p.bytes) / 1024);
            front.y.push_back(100 * p.measured.accuracy);
        }
    }
    panel.series = {front, uniform, mixed};  // mixed drawn last: it is on the front at most points
    write_png(path, render_line_charts({panel}, 640, 420));
}

}  // namespace tern::quant
