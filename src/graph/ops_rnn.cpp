// The recurrent ops as ONNX defines them (opsets 7 and 14): LSTM, GRU and
// RNN; forward, reverse or bidirectional; optional bias, initial state,
// per-sequence lengths (steps past a sequence's end give zeros, and the
// reverse direction starts at the sequence's own end); cell clip; layout 0
// (time major) or 1 (batch major); LSTM peepholes. Activations Sigmoid, Tanh
// and Relu. float32; sums in double, one step at a time (a reference, not a
// fast path).
#include <algorithm>
#include <cmath>

#include "graph/op_registry.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

using Activation = float (*)(float);
float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }
float tanh_(float x) { return std::tanh(x); }
float relu(float x) { return x > 0.f ? x : 0.f; }

Activation activation_named(const Node& n, const std::string& name) {
    if (name == "Sigmoid") return sigmoid;
    if (name == "Tanh") return tanh_;
    if (name == "Relu") return relu;
    throw n.error("activation '" + name + "' is not supported (tern runs Sigmoid, Tanh, Relu)");
}

// Checks `t` is f32 with exactly `want` as its shape.
Tensor checked(const Node& n, const Tensor& t, const Shape& want, const char* what) {
    require_f32(n, t, what);
    if (t.shape() != want) {
        throw n.error(std::string(what) + " has shape " + shape_to_string(t.shape()) + ", " + n.op_type + " needs " +
                      shape_to_string(want));
    }
    return t.contiguous();
}

// What LSTM, GRU and RNN share: inputs X, W, R, B, sequence_lens, initial_h
// (indices 0-5), the direction, layout, clip and activation attributes.
struct Recurrence {
    int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1, gates = 1;
    bool batch_major = false;  // layout 1
    std::string direction;
    Tensor x, W, R, bias, h0;  // bias and h0 undefined when absent
    std::vector<int64_t> lens;
    std::vector<Activation> acts;  // acts_per_dir per direction
    bool clip = false;
    float clip_at = 0;

    // Rows (of the last dim) of (t, b) in X, (d, b) in a state and (t, d, b) in Y.
    int64_t x_row(int64_t t, int64_t b) const { return batch_major ? b * seq + t : t * batch + b; }
    int64_t state_row(int64_t d, int64_t b) const { return batch_major ? b * dirs + d : d * batch + b; }
    int64_t y_row(int64_t t, int64_t d, int64_t b) const {
        return batch_major ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b;
    }
    Shape state_shape() const { return batch_major ? Shape{batch, dirs, hidden} : Shape{dirs, batch, hidden}; }
    Shape y_shape() const { return batch_major ? Shape{batch, seq, dirs, hidden} : Shape{seq, dirs, batch, hidden}; }
    bool reverse(int64_t dir) const { return direction == "reverse" || dir == 1; }
    float clipped(float v) const { return clip ? std::clamp(v, -clip_at, clip_at) : v; }
    const float* W_of(int64_t dir) const { return W.data<float>() + dir * gates * hidden * input; }
    const float* R_of(int64_t dir) const { return R.data<float>() + dir * gates * hidden * hidden; }
    // Wb then Rb for direction `dir`, or null.
    const float* bias_of(int64_t dir) const { return bias.defined() ? bias.data<float>() + dir * 2 * gates * hidden : nullptr; }
    void initial_state(const Tensor& s, int64_t dir, int64_t b, std::vector<float>& out) const {
        for (int64_t j = 0; j < hidden; ++j) out[j] = s.defined() ? s.data<float>()[state_row(dir, b) * hidden + j] : 0.f;
    }
};

Recurrence parse_recurrence(const OpContext& c, int64_t gates, const std::vector<std::string>& default_acts) {
    const Node& n = c.node;
    Recurrence r;
    r.gates = gates;
    const Tensor& x = c.input(0);
    require_f32(n, x, "X");
    if (x.rank() != 3) throw n.error("X has " + std::to_string(x.rank()) + " dims, " + n.op_type + " needs 3");
    r.direction = n.attr_string("direction", "forward");
    if (r.direction != "forward" && r.direction != "reverse" && r.direction != "bidirectional") {
        throw n.error("direction '" + r.direction + "' is not forward, reverse or bidirectional");
    }
    r.batch_major = n.attr_int("layout", 0) == 1;
    r.seq = x.dim(r.batch_major ? 1 : 0);
    r.batch = x.dim(r.batch_major ? 0 : 1);
    r.input = x.dim(2);
    r.dirs = r.direction == "bidirectional" ? 2 : 1;
    const Tensor& R_in = c.input(2);
    r.hidden = n.attr_int("hidden_size", R_in.rank() == 3 ? R_in.dim(2) : 0);
    if (r.hidden <= 0 || r.hidden > kMaxWindowValue) throw n.error("hidden_size must be positive");
    const int64_t H = r.hidden;
    r.x = x.contiguous();
    r.W = checked(n, c.input(1), {r.dirs, gates * H, r.input}, "W");
    r.R = checked(n, R_in, {r.dirs, gates * H, H}, "R");
    if (c.has_input(3)) r.bias = checked(n, c.input(3), {r.dirs, 2 * gates * H}, "B");
    r.lens.assign(static_cast<size_t>(r.batch), r.seq);
    if (c.has_input(4)) {
        r.lens = int_list(n, c.input(4), "sequence_lens");
        if (static_cast<int64_t>(r.lens.size()) != r.batch) {
            throw n.error(format("sequence_lens has %zu values for a batch of %lld", r.lens.size(), (long long)r.batch));
        }
        for (int64_t l : r.lens)
            if (l < 0 || l > r.seq) throw n.error(format("sequence length %lld is outside 0..%lld", (long long)l, (long long)r.seq));
    }
    if (c.has_input(5)) r.h0 = checked(n, c.input(5), r.state_shape(), "initial_h");
    std::vector<std::string> names = n.attr_strings("activations");
    if (names.empty())
        for (int64_t d = 0; d < r.dirs; ++d) names.insert(names.end(), default_acts.begin(), default_acts.end());
    if (names.size() != default_acts.size() * static_cast<size_t>(r.dirs)) {
        throw n.error(format("activations lists %zu names, %s needs %zu", names.size(), n.op_type.c_str(),
                             default_acts.size() * static_cast<size_t>(r.dirs)));
    }
    for (const auto& name : names) r.acts.push_back(activation_named(n, name));
    r.clip = n.has("clip");
    r.clip_at = n.attr_float("clip", 0.f);
    if (r.clip && !(r.clip_at > 0.f)) throw n.error("clip must be positive");
    return r;
}

// out[k] = bias[k] + sum_e m[k, e] v[e] for `rows` rows of width `width` (bias may be null).
void mat_vec(const float* m, const float* v, const float* bias, int64_t rows, int64_t width, float* out) {
    for (int64_t k = 0; k < rows; ++k) {
        double acc = bias ? bias[k] : 0.0;
        const float* mk = m + k * width;
        for (int64_t e = 0; e < width; ++e) acc += static_cast<double>(mk[e]) * v[e];
        out[k] = static_cast<float>(acc);
    }
}

// Runs `step(dir, t, b, h)` over every sequence in its direction's order;
// step updates the state h (and whatever else it keeps per batch row) and the
// loop copies h into Y and, after the last step, into Y_h.
template <class Begin, class Step, class End>
void recur(const Recurrence& r, Tensor& Y, Tensor& Yh, Begin begin, Step step, End end) {
    std::vector<float> h(static_cast<size_t>(r.hidden));
    for (int64_t dir = 0; dir < r.dirs; ++dir)
        for (int64_t b = 0; b < r.batch; ++b) {
            r.initial_state(r.h0, dir, b, h);
            begin(dir, b);
            const int64_t len = r.lens[static_cast<size_t>(b)];
            for (int64_t i = 0; i < len; ++i) {
                const int64_t t = r.reverse(dir) ? len - 1 - i : i;
                step(dir, r.x.data<float>() + r.x_row(t, b) * r.input, h);
                std::copy(h.begin(), h.end(), Y.data<float>() + r.y_row(t, dir, b) * r.hidden);
            }
            // A sequence of length 0 keeps zeros, as ONNX Runtime does.
            if (len > 0) {
                std::copy(h.begin(), h.end(), Yh.data<float>() + r.state_row(dir, b) * r.hidden);
                end(dir, b);
            }
        }
}

void run_lstm(OpContext& c) {
    const Node& n = c.node;
    if (n.attr_int("input_forget", 0) != 0) throw n.error("input_forget=1 is not supported");
    const Recurrence r = parse_recurrence(c, 4, {"Sigmoid", "Tanh", "Tanh"});
    const int64_t H = r.hidden;
    Tensor c0, peep;
    if (c.has_input(6)) c0 = checked(n, c.input(6), r.state_shape(), "initial_c");
    if (c.has_input(7)) peep = checked(n, c.input(7), {r.dirs, 3 * H}, "P");
    Tensor Y = Tensor::zeros(r.y_shape()), Yh = Tensor::zeros(r.state_shape()), Yc = Tensor::zeros(r.state_shape());
    std::vector<float> gx(static_cast<size_t>(4 * H)), gh(static_cast<size_t>(4 * H)), cell(static_cast<size_t>(H));
    recur(
        r, Y, Yh, [&](int64_t dir, int64_t b) { r.initial_state(c0, dir, b, cell); },
        [&](int64_t dir, const float* xt, std::vector<float>& h) {
            const float* bias = r.bias_of(dir);
            const float* p = peep.defined() ? peep.data<float>() + dir * 3 * H : nullptr;
            const Activation f = r.acts[3 * dir], g = r.acts[3 * dir + 1], act_h = r.acts[3 * dir + 2];
            // Gate rows in ONNX's order i, o, f, c; peepholes in the order i, o, f.
            mat_vec(r.W_of(dir), xt, bias, 4 * H, r.input, gx.data());
            mat_vec(r.R_of(dir), h.data(), bias ? bias + 4 * H : nullptr, 4 * H, H, gh.data());
            for (int64_t j = 0; j < H; ++j) {
                auto pre = [&](int64_t gate) { return gx[gate * H + j] + gh[gate * H + j]; };
                const float ig = f(r.clipped(pre(0) + (p ? p[j] * cell[j] : 0.f)));
                const float fg = f(r.clipped(pre(2) + (p ? p[2 * H + j] * cell[j] : 0.f)));
                const float cg = g(r.clipped(pre(3)));
                cell[j] = fg * cell[j] + ig * cg;
                const float og = f(r.clipped(pre(1) + (p ? p[H + j] * cell[j] : 0.f)));
                h[j] = og * act_h(cell[j]);
            }
        },
        [&](int64_t dir, int64_t b) { std::copy(cell.begin(), cell.end(), Yc.data<float>() + r.state_row(dir, b) * H); });
    c.out[0] = std::move(Y);
    if (c.out.size() > 1) c.out[1] = std::move(Yh);
    if (c.out.size() > 2) c.out[2] = std::move(Yc);
}

void run_gru(OpContext& c) {
    const Recurrence r = parse_recurrence(c, 3, {"Sigmoid", "Tanh"});
    const bool linear_before_reset = c.node.attr_int("linear_before_reset", 0) != 0;
    const int64_t H = r.hidden;
    Tensor Y = Tensor::zeros(r.y_shape()), Yh = Tensor::zeros(r.state_shape());
    std::vector<float> gx(static_cast<size_t>(3 * H)), gh(static_cast<size_t>(3 * H)), rh(static_cast<size_t>(H));
    recur(
        r, Y, Yh, [](int64_t, int64_t) {},
        [&](int64_t dir, const float* xt, std::vector<float>& h) {
            const float* bias = r.bias_of(dir);
            const float* rb = bias ? bias + 3 * H : nullptr;
            const Activation f = r.acts[2 * dir], g = r.acts[2 * dir + 1];
            // Gate rows z, r, h. The candidate's recurrent term is R_h (r . h) + Rb_h, or
            // r . (R_h h + Rb_h) with linear_before_reset.
            mat_vec(r.W_of(dir), xt, bias, 3 * H, r.input, gx.data());
            mat_vec(r.R_of(dir), h.data(), rb, 2 * H, H, gh.data());
            std::vector<float> z(static_cast<size_t>(H)), reset(static_cast<size_t>(H));
            for (int64_t j = 0; j < H; ++j) {
                z[j] = f(r.clipped(gx[j] + gh[j]));
                reset[j] = f(r.clipped(gx[H + j] + gh[H + j]));
            }
            const float* Rh = r.R_of(dir) + 2 * H * H;
            if (linear_before_reset) {
                mat_vec(Rh, h.data(), rb ? rb + 2 * H : nullptr, H, H, rh.data());
                for (int64_t j = 0; j < H; ++j) rh[j] *= reset[j];
            } else {
                std::vector<float> gated(static_cast<size_t>(H));
                for (int64_t j = 0; j < H; ++j) gated[j] = reset[j] * h[j];
                mat_vec(Rh, gated.data(), rb ? rb + 2 * H : nullptr, H, H, rh.data());
            }
            for (int64_t j = 0; j < H; ++j) {
                const float cand = g(r.clipped(gx[2 * H + j] + rh[j]));
                h[j] = (1.f - z[j]) * cand + z[j] * h[j];
            }
        },
        [](int64_t, int64_t) {});
    c.out[0] = std::move(Y);
    if (c.out.size() > 1) c.out[1] = std::move(Yh);
}

void run_rnn(OpContext& c) {
    const Recurrence r = parse_recurrence(c, 1, {"Tanh"});
    const int64_t H = r.hidden;
    Tensor Y = Tensor::zeros(r.y_shape()), Yh = Tensor::zeros(r.state_shape());
    std::vector<float> gx(static_cast<size_t>(H)), gh(static_cast<size_t>(H));
    recur(
        r, Y, Yh, [](int64_t, int64_t) {},
        [&](int64_t dir, const float* xt, std::vector<float>& h) {
            const float* bias = r.bias_of(dir);
            mat_vec(r.W_of(dir), xt, bias, H, r.input, gx.data());
            mat_vec(r.R_of(dir), h.data(), bias ? bias + H : nullptr, H, H, gh.data());
            for (int64_t j = 0; j < H; ++j) h[j] = r.acts[dir](r.clipped(gx[j] + gh[j]));
        },
        [](int64_t, int64_t) {});
    c.out[0] = std::move(Y);
    if (c.out.size() > 1) c.out[1] = std::move(Yh);
}

}  // namespace

std::vector<OpEntry> rnn_ops() { return {{"LSTM", run_lstm}, {"GRU", run_gru}, {"RNN", run_rnn}}; }

}  // namespace tern::graph
