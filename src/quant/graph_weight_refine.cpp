#include "quant/graph_weight_refine.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.h"
#include "graph/executor.h"

namespace tern::quant {
namespace {

using graph::Graph;
using graph::Node;

const Node* node_named(const Graph& g, const std::string& name) {
    for (const Node& n : g.nodes)
        if (n.name == name) return &n;
    return nullptr;
}

// How a layer's input tensor becomes rows of `width` = groups * k values, one per output position.
struct Geometry {
    bool conv = false;
    int64_t groups = 1, k = 0;  // k: inputs per output channel (per group)
    int64_t cin = 0, kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, ph_end = 0, pw_end = 0, dh = 1, dw = 1;
    int64_t width() const { return groups * k; }
};

// nullopt for a Conv this im2col does not cover (not 2-D, auto_pad): it keeps its nearest codes.
std::optional<Geometry> geometry_of(const Node& n, const Tensor& w, int axis) {
    Geometry g;
    if (n.op_type != "Conv") {
        g.k = w.dim(axis == 0 ? 1 : 0);
        return g;
    }
    if (w.rank() != 4) return std::nullopt;
    const std::string pad_mode = n.attr_string("auto_pad", "NOTSET");
    if (pad_mode != "NOTSET" && pad_mode != "VALID") return std::nullopt;
    const auto strides = n.attr_ints("strides", {1, 1}), dil = n.attr_ints("dilations", {1, 1});
    const auto pads = n.attr_ints("pads", {0, 0, 0, 0});
    if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4) return std::nullopt;
    g.conv = true;
    g.groups = n.attr_int("group", 1);
    g.kh = w.dim(2), g.kw = w.dim(3);
    g.cin = w.dim(1) * g.groups;
    g.k = w.dim(1) * g.kh * g.kw;
    g.sh = strides[0], g.sw = strides[1], g.dh = dil[0], g.dw = dil[1];
    g.ph = pads[0], g.pw = pads[1], g.ph_end = pads[2], g.pw_end = pads[3];
    return g;
}

uint64_t mix(uint64_t x) {  // splitmix64: a row's fixed coin, the same in every pass
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// Sampled rows of the layer's input over all calibration images when `g` runs:
// each output position (image, y, x) is kept with probability rows / total, decided
// by a hash of its index, so two graphs give paired rows.
class RowCapture {
public:
    RowCapture(const Geometry& geo, int64_t images, int64_t want, uint64_t seed) : geo_(geo), images_(images), want_(want), seed_(seed) {}

    void add(const Tensor& value, int64_t first_image) {
        const Tensor c = value.contiguous();
        const float* x = c.data<float>();
        const int64_t batch = c.dim(0);
        if (!geo_.conv) {
            const int64_t per_image = c.numel() / (batch * geo_.k);
            for (int64_t r = 0; r < batch * per_image; ++r)
                if (keep(first_image * per_image + r, per_image)) data_.insert(data_.end(), x + r * geo_.k, x + (r + 1) * geo_.k);
            return;
        }
        if (c.rank() != 4 || c.dim(1) != geo_.cin) throw InputError("adaround", "a Conv input is not (N, C, H, W) of its weight's channels");
        const int64_t h = c.dim(2), w = c.dim(3);
        const int64_t ho = (h + geo_.ph + geo_.ph_end - geo_.dh * (geo_.kh - 1) - 1) / geo_.sh + 1;
        const int64_t wo = (w + geo_.pw + geo_.pw_end - geo_.dw * (geo_.kw - 1) - 1) / geo_.sw + 1;
        const int64_t per_image = ho * wo;
        for (int64_t b = 0; b < batch; ++b)
            for (int64_t p = 0; p < per_image; ++p) {
                if (!keep((first_image + b) * per_image + p, per_image)) continue;
                const int64_t oy = p / wo, ox = p % wo;
                for (int64_t ch = 0; ch < geo_.cin; ++ch)
                    for (int64_t i = 0; i < geo_.kh; ++i)
                        for (int64_t j = 0; j < geo_.kw; ++j) {
                            const int64_t y = oy * geo_.sh - geo_.ph + i * geo_.dh, xx = ox * geo_.sw - geo_.pw + j * geo_.dw;
                            data_.push_back(y >= 0 && y < h && xx >= 0 && xx < w ? x[((b * geo_.cin + ch) * h + y) * w + xx] : 0.f);
                        }
            }
    }
    int64_t rows() const { return static_cast<int64_t>(data_.size()) / geo_.width(); }
    const std::vector<float>& data() const { return data_; }

private:
    bool keep(int64_t row, int64_t per_image) const {
        const double total = static_cast<double>(images_ * per_image);
        if (total <= static_cast<double>(want_)) return true;
        const double p = static_cast<double>(want_) / total;
        return static_cast<double>(mix(seed_ ^ static_cast<uint64_t>(row)) >> 11) * 0x1.0p-53 < p;
    }
    Geometry geo_;
    int64_t images_, want_;
    uint64_t seed_;
    std::vector<float> data_;
};

RowCapture capture(const Graph& g, const std::string& tensor, const Geometry& geo, const Tensor& calib,
                   const WeightRefineOptions& o, uint64_t seed) {
    RowCapture rows(geo, calib.dim(0), o.rows, seed);
    const graph::Executor exec(g);
    const Tensor images = calib.contiguous();
    const int64_t n = images.dim(0), per = images.numel() / n;
    Shape shape = images.shape();
    const bool is_input = g.inputs.size() == 1 && g.inputs[0] == tensor;
    for (int64_t b = 0; b < n; b += o.batch) {
        const int64_t count = std::min(o.batch, n - b);
        shape[0] = count;
        const Tensor x = Tensor::from_floats(shape, std::span<const float>(images.data<float>() + b * per, static_cast<size_t>(count * per)));
        if (is_input) {
            rows.add(x, b);
            continue;
        }
        exec.run({{g.inputs[0], x}}, [&](const std::string& name, const Tensor& v) {
            if (name == tensor) rows.add(v, b);
        });
    }
    return rows;
}

// The weight as rows (channels, K) whatever its layout.
std::vector<float> weight_rows(const Tensor& w, int axis) {
    const std::vector<float> f = w.to_floats();
    if (axis == 0) return f;
    const int64_t k = w.dim(0), c = w.dim(1);
    std::vector<float> t(f.size());
    for (int64_t i = 0; i < k; ++i)
        for (int64_t o = 0; o < c; ++o) t[static_cast<size_t>(o * k + i)] = f[static_cast<size_t>(i * c + o)];
    return t;
}

void store_codes(Tensor& codes, const std::vector<int8_t>& rows, int axis, int64_t channels, int64_t k) {
    int8_t* dst = codes.data<int8_t>();
    for (int64_t o = 0; o < channels; ++o)
        for (int64_t i = 0; i < k; ++i)
            dst[axis == 0 ? o * k + i : i * channels + o] = rows[static_cast<size_t>(o * k + i)];
}

}  // namespace

WeightRefineStats refine_weights(const Graph& fp32, Graph& qdq, const std::vector<RefinedLayer>& layers, const Tensor& calib,
                                 const WeightRefineOptions& o) {
    WeightRefineStats stats;
    if (!o.adaround && !o.bias_correction) return stats;
    if (o.rows < 1) throw UsageError("adaround", "rows per layer must be at least 1");
    uint64_t layer_seed = o.seed;
    for (const RefinedLayer& layer : layers) {
        layer_seed = mix(layer_seed);
        const Node* f = node_named(fp32, layer.node);
        const Node* q = node_named(qdq, layer.node);
        const std::string base = layer.node + "_W";
        if (!f || !q || !qdq.initializers.count(base + "_quantized")) throw InputError(o.where, "layer '" + layer.node + "' lost in quantization");
        const Tensor& w = fp32.initializers.at(f->inputs[1]);
        const std::optional<Geometry> geo = geometry_of(*f, w, layer.axis);
        if (!geo) {
            stats.skipped.push_back(layer.node);
            continue;
        }
        const RowCapture xq = capture(qdq, q->inputs[0], *geo, calib, o, layer_seed);
        const RowCapture xf = capture(fp32, f->inputs[0], *geo, calib, o, layer_seed);
        if (xq.rows() != xf.rows() || xq.rows() == 0) throw InputError(o.where, "layer '" + layer.node + "': calibration rows did not pair up");
        const int64_t rows = xq.rows(), width = geo->width(), k = geo->k;

        AdaroundLayer al;
        al.k = k;
        al.groups = geo->groups;
        al.qmax = o.qmax;
        al.weights = weight_rows(w, layer.axis);
        al.channels = static_cast<int64_t>(al.weights.size()) / k;
        al.scales = qdq.initializers.at(base + "_scale").to_floats();
        Tensor& codes_tensor = qdq.initializers.at(base + "_quantized");
        std::vector<int8_t> codes;
        for (float c : weight_rows(codes_tensor, layer.axis)) codes.push_back(static_cast<int8_t>(c));
        if (o.adaround) {
            std::vector<float> gq(static_cast<size_t>(rows * k)), gf(gq.size());
            for (int64_t grp = 0; grp < geo->groups; ++grp) {
                for (int64_t r = 0; r < rows; ++r) {
                    std::copy_n(xq.data().data() + r * width + grp * k, k, gq.data() + r * k);
                    std::copy_n(xf.data().data() + r * width + grp * k, k, gf.data() + r * k);
                }
                add_gram_rows(al, grp, gq.data(), gf.data(), rows);
            }
            finish_gram(al, rows);
            const AdaroundResult r = adaround(al, o.adaround_options);
            codes = r.codes;
            store_codes(codes_tensor, codes, layer.axis, al.channels, k);
            stats.rec_nearest += r.rec_nearest;
            stats.rec_adaround += r.rec_adaround;
            ++stats.adarounded;
        }
        const std::string bias = layer.node + "_B";
        if (!o.bias_correction || !qdq.initializers.count(bias + "_quantized") || !f->has_input(2)) continue;
        // Mean output error per channel over the rows: w~ . mean(x_q) - w . mean(x_f), group by group.
        std::vector<double> mq(static_cast<size_t>(width), 0.0), mf(mq.size(), 0.0);
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t i = 0; i < width; ++i) {
                mq[static_cast<size_t>(i)] += xq.data()[static_cast<size_t>(r * width + i)];
                mf[static_cast<size_t>(i)] += xf.data()[static_cast<size_t>(r * width + i)];
            }
        const int64_t per_group = al.channels / geo->groups;
        const std::vector<float> b = fp32.initializers.at(f->inputs[2]).to_floats();
        const std::vector<float> bs = qdq.initializers.at(bias + "_scale").to_floats();
        int32_t* bq = qdq.initializers.at(bias + "_quantized").data<int32_t>();
        for (int64_t ch = 0; ch < al.channels; ++ch) {
            const int64_t off = (ch / per_group) * k;
            double err = 0;
            for (int64_t i = 0; i < k; ++i) {
                const double wq = static_cast<double>(codes[static_cast<size_t>(ch * k + i)]) * al.scales[static_cast<size_t>(ch)];
                err += wq * mq[static_cast<size_t>(off + i)] - static_cast<double>(al.weights[static_cast<size_t>(ch * k + i)]) * mf[static_cast<size_t>(off + i)];
            }
            err /= static_cast<double>(rows);
            const double v = std::nearbyint((static_cast<double>(b[static_cast<size_t>(ch)]) - err) / bs[static_cast<size_t>(ch)]);
            bq[ch] = static_cast<int32_t>(std::clamp(v, -2147483647.0, 2147483647.0));
        }
        ++stats.bias_corrected;
    }
    return stats;
}

}  // namespace tern::quant
