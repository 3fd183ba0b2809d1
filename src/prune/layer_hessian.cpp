#include "prune/layer_hessian.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "nn/modules/conv.h"
#include "nn/modules/fake_quant.h"
#include "nn/modules/linear.h"
#include "ops/conv2d.h"
#include "ops/conv_detail.h"

namespace tern::prune {
namespace {

// h += A^T A for A: (m, n) rows, h (n, n) in f64; parallel over h's rows.
void add_gram(std::vector<double>& h, const float* a, int64_t m, int64_t n, int64_t stride) {
    parallel_for(n, 4, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
            double* hi = h.data() + i * n;
            for (int64_t r = 0; r < m; ++r) {
                const float* ar = a + r * stride;
                const double v = ar[i];
                if (v == 0) continue;
                for (int64_t j = 0; j < n; ++j) hi[j] += v * ar[j];
            }
        }
    });
}

// Sees the layer's input on every forward and leaves input and weight as they are.
class InputRecorder : public nn::LayerFakeQuant {
public:
    InputRecorder(LayerHessian& out, const nn::Conv2d* conv) : out_(out), conv_(conv) {}
    nn::Var weight(const nn::Var& w) override { return w; }
    nn::Var input(const nn::Var& x) override {
        if (!conv_) {
            const int64_t n = out_.cols, m = x.numel() / n;
            add_gram(out_.h, x.data(), m, n, n);
            out_.input_rows += m;
            return x;
        }
        const Tensor& wt = conv_->weight.value();
        const ops::ConvGeom g0 = ops::conv_geometry(x.dim(1), x.dim(2), x.dim(3), wt.dim(0), wt.dim(1), wt.dim(2),
                                                    wt.dim(3), conv_->params, "obs");
        const int64_t ckk = g0.ckk(), ohw = g0.ohw();
        std::vector<float> cols(static_cast<size_t>(ckk * ohw)), rows(static_cast<size_t>(ckk * ohw));
        for (int64_t img = 0; img < x.dim(0); ++img)
            for (int64_t grp = 0; grp < g0.G; ++grp) {
                ops::detail::im2col(g0, x.data() + (img * g0.C + grp * g0.Cg) * g0.H * g0.W, cols.data());
                // (ckk, ohw) -> (ohw, ckk): one patch per row.
                for (int64_t c = 0; c < ckk; ++c)
                    for (int64_t p = 0; p < ohw; ++p) rows[p * ckk + c] = cols[c * ohw + p];
                std::vector<double> hg(static_cast<size_t>(ckk * ckk), 0.0);
                add_gram(hg, rows.data(), ohw, ckk, ckk);
                double* dst = out_.h.data() + grp * ckk * ckk;
                for (size_t i = 0; i < hg.size(); ++i) dst[i] += hg[i];
            }
        out_.input_rows += x.dim(0) * ohw;
        return x;
    }

private:
    LayerHessian& out_;
    const nn::Conv2d* conv_;
};

}  // namespace

LayerHessian layer_input_hessian(nn::UnaryModule& model, const std::string& layer, const data::ImageDataset& data,
                                 int64_t images, int64_t batch) {
    nn::Module* found = nullptr;
    nn::visit_modules(model, [&](const std::string& name, nn::Module& m) {
        if (name == layer) found = &m;
    });
    auto* lin = dynamic_cast<nn::Linear*>(found);
    auto* conv = dynamic_cast<nn::Conv2d*>(found);
    if (!lin && !conv) throw Error("obs", "the model has no Linear or Conv2d named '" + layer + "'");
    if ((lin && lin->fake_quant) || (conv && conv->fake_quant))
        throw Error("obs", "layer '" + layer + "' already has a quantizer attached");
    LayerHessian out;
    if (lin) {
        out.cols = lin->weight.dim(1);
    } else {
        out.groups = conv->params.groups;
        out.cols = conv->weight.dim(1) * conv->weight.dim(2) * conv->weight.dim(3);
    }
    out.h.assign(static_cast<size_t>(out.groups * out.cols * out.cols), 0.0);
    auto rec = std::make_shared<InputRecorder>(out, conv);
    if (lin) lin->attach_fake_quant(rec);
    else conv->attach_fake_quant(rec);
    nn::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    const int64_t n = std::min(images, data.size());
    for (int64_t b0 = 0; b0 < n; b0 += batch) {
        const int64_t m = std::min(batch, n - b0);
        Tensor x = Tensor::empty({m, data.channels(), data.height(), data.width()});
        std::memcpy(x.data<float>(), data.image(b0), static_cast<size_t>(m * data.image_numel()) * sizeof(float));
        model.forward(nn::Var(x));
    }
    model.train(was_training);
    return out;
}

}  // namespace tern::prune
