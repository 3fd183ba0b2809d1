// TFLite builtin operators -> IR nodes (ONNX semantics, NCHW where the op is
// layout-bound; see tflite_builder.h). One function per op family.
#include <algorithm>
#include <array>
#include <set>

#include "core/half.h"
#include "graph/tflite_builder.h"

namespace tern::graph::tflite_detail {

namespace {

// Builtin operator codes of the published schema that tern maps.
enum Code : int32_t {
    ADD = 0, AVERAGE_POOL_2D = 1, CONCATENATION = 2, CONV_2D = 3, DEPTHWISE_CONV_2D = 4, DEQUANTIZE = 6,
    FULLY_CONNECTED = 9, LOGISTIC = 14, MAX_POOL_2D = 17, MUL = 18, RELU = 19, RELU_N1_TO_1 = 20, RELU6 = 21,
    RESHAPE = 22, SOFTMAX = 25, TANH = 28, PAD = 34, TRANSPOSE = 39, MEAN = 40, SUB = 41, DIV = 42, PADV2 = 60,
    HARD_SWISH = 117,
};

// TFLite's SAME puts the odd pixel after (end), as ONNX's SAME_UPPER does.
std::string auto_pad(fb::Padding p) { return p == fb::Padding::VALID ? "VALID" : "SAME_UPPER"; }

template <class Options>
const Options& options(const Builder& b, const Options* o, const char* what) {
    if (!o) throw b.error(std::string("has no ") + what);
    return *o;
}

void check_window(const Builder& b, std::initializer_list<int32_t> values) {
    for (int32_t v : values) {
        if (v < 1) throw b.error(format("strides, filter sizes and dilations must be >= 1 (got %d)", v));
    }
}

void map_conv(Builder& b, bool depthwise) {
    const int x = b.input(0), w = b.input(1), bias = b.input(2, true), y = b.output(0);
    const std::string xin = b.nchw(x);
    const Shape& ws = b.shape(w);
    if (ws.size() != 4) throw b.error("weight has shape " + shape_to_string(ws) + ", 4 dims expected");
    const int64_t cin = b.shape(x)[3];
    std::map<std::string, Attribute> attrs;
    fb::ActivationFunctionType act;
    if (depthwise) {
        const auto& o = options(b, b.op().builtin_options_as_DepthwiseConv2DOptions(), "DepthwiseConv2DOptions");
        check_window(b, {o.stride_h(), o.stride_w(), o.dilation_h_factor(), o.dilation_w_factor()});
        if (ws[0] != 1 || cin < 1 || ws[3] % cin != 0) {
            throw b.error(format("depthwise weight %s does not fit %lld input channels", shape_to_string(ws).c_str(),
                                 static_cast<long long>(cin)));
        }
        attrs = {{"strides", ints_attr({o.stride_h(), o.stride_w()})},
                 {"dilations", ints_attr({o.dilation_h_factor(), o.dilation_w_factor()})},
                 {"auto_pad", string_attr(auto_pad(o.padding()))},
                 {"group", int_attr(cin)}};
        act = o.fused_activation_function();
    } else {
        const auto& o = options(b, b.op().builtin_options_as_Conv2DOptions(), "Conv2DOptions");
        check_window(b, {o.stride_h(), o.stride_w(), o.dilation_h_factor(), o.dilation_w_factor()});
        if (ws[3] < 1 || cin % ws[3] != 0) {
            throw b.error(format("weight %s does not fit %lld input channels", shape_to_string(ws).c_str(),
                                 static_cast<long long>(cin)));
        }
        attrs = {{"strides", ints_attr({o.stride_h(), o.stride_w()})},
                 {"dilations", ints_attr({o.dilation_h_factor(), o.dilation_w_factor()})},
                 {"auto_pad", string_attr(auto_pad(o.padding()))},
                 {"group", int_attr(cin / ws[3])}};
        act = o.fused_activation_function();
    }
    // OHWI -> OIHW; depthwise (1, KH, KW, C*M) -> (C*M, 1, KH, KW): ONNX's grouped Conv with group = C.
    const std::string wname = depthwise ? b.permuted(w, {3, 0, 1, 2}, "c1hw") : b.permuted(w, kToNchw, "oihw");
    std::vector<std::string> ins{xin, wname};
    if (bias >= 0) ins.push_back(b.plain(bias));
    b.emit("Conv", ins, y, true, act, attrs);
}

void map_pool(Builder& b, bool max) {
    const int x = b.input(0), y = b.output(0);
    const auto& o = options(b, b.op().builtin_options_as_Pool2DOptions(), "Pool2DOptions");
    check_window(b, {o.stride_h(), o.stride_w(), o.filter_height(), o.filter_width()});
    std::map<std::string, Attribute> attrs{{"kernel_shape", ints_attr({o.filter_height(), o.filter_width()})},
                                           {"strides", ints_attr({o.stride_h(), o.stride_w()})},
                                           {"auto_pad", string_attr(auto_pad(o.padding()))}};
    // TFLite's average pool divides by the taps inside the image: ONNX's count_include_pad = 0.
    b.emit(max ? "MaxPool" : "AveragePool", {b.nchw(x)}, y, true, o.fused_activation_function(), attrs);
}

// Elementwise ops run in NCHW when a 4-D operand already is, so a conv chain stays in NCHW.
bool prefer_nchw(Builder& b, const std::vector<int>& ins, int y) {
    if (b.rank(y) != 4) return false;
    bool any = false;
    for (int t : ins) {
        if (b.constant(t)) continue;
        if (b.rank(t) != 4) return false;
        any = any || b.held_nchw(t);
    }
    return any;
}

void map_binary(Builder& b, const char* op_type, fb::ActivationFunctionType act) {
    const int a = b.input(0), c = b.input(1), y = b.output(0);
    const bool nchw = prefer_nchw(b, {a, c}, y);
    auto operand = [&](int t) { return nchw ? b.nchw_operand(t) : b.plain(t); };
    b.emit(op_type, {operand(a), operand(c)}, y, nchw, act);
}

void map_unary(Builder& b, int32_t code) {
    const int x = b.input(0), y = b.output(0);
    const bool nchw = prefer_nchw(b, {x}, y);
    const std::string in = nchw ? b.nchw(x) : b.plain(x);
    const auto none = fb::ActivationFunctionType::NONE;
    switch (code) {
        case RELU: b.emit("Relu", {in}, y, nchw, none); break;
        case RELU6: b.emit("Clip", {in, b.scalar(0), b.scalar(6)}, y, nchw, none); break;
        case RELU_N1_TO_1: b.emit("Clip", {in, b.scalar(-1), b.scalar(1)}, y, nchw, none); break;
        case LOGISTIC: b.emit("Sigmoid", {in}, y, nchw, none); break;
        case TANH: b.emit("Tanh", {in}, y, nchw, none); break;
        case HARD_SWISH: {
            // x * relu6(x + 3) / 6 = x * HardSigmoid(x; alpha 1/6, beta 1/2).
            const std::string gate = b.slot(y).name + "#hard_sigmoid";
            b.add_node("HardSigmoid", {in}, {gate}, {{"alpha", float_attr(1.f / 6)}, {"beta", float_attr(0.5f)}}, "gate");
            b.emit("Mul", {in, gate}, y, nchw, none);
            break;
        }
        default: throw b.error("not a unary op");
    }
}

void map_concat(Builder& b) {
    const auto& o = options(b, b.op().builtin_options_as_ConcatenationOptions(), "ConcatenationOptions");
    const int y = b.output(0);
    std::vector<int> ins;
    for (size_t i = 0; i < b.input_count(); ++i) ins.push_back(b.input(i));
    if (ins.empty()) throw b.error("has no inputs");
    const int64_t r = b.rank(y);
    int64_t axis = o.axis();
    if (axis < -r || axis >= r) throw b.error(format("axis %lld is outside the output's %lld dims", static_cast<long long>(axis), static_cast<long long>(r)));
    if (axis < 0) axis += r;
    const bool nchw = prefer_nchw(b, ins, y);
    std::vector<std::string> names;
    for (int t : ins) names.push_back(nchw ? b.nchw(t) : b.plain(t));
    // NHWC axis -> NCHW axis: N stays, H and W move right, C moves to 1.
    const int64_t ir_axis = nchw ? std::array<int64_t, 4>{0, 2, 3, 1}[static_cast<size_t>(axis)] : axis;
    b.emit("Concat", names, y, nchw, o.fused_activation_function(), {{"axis", int_attr(ir_axis)}});
}

void map_pad(Builder& b, bool v2) {
    const int x = b.input(0), p = b.input(1), y = b.output(0);
    const std::vector<int64_t> pads = b.constant_ints(p, "paddings");
    const int64_t r = b.rank(x);
    if (static_cast<int64_t>(pads.size()) != 2 * r) {
        throw b.error(format("paddings has %zu values, the input %s needs (%lld, 2)", pads.size(),
                             shape_to_string(b.shape(x)).c_str(), static_cast<long long>(r)));
    }
    // Pad is the one mapped op that grows a tensor: hold it to the output shape the file declares.
    Shape padded = b.shape(x);
    for (int64_t d = 0; d < r; ++d) {
        if (pads[2 * d] < 0 || pads[2 * d + 1] < 0) throw b.error("paddings must be >= 0");
        padded[d] += pads[2 * d] + pads[2 * d + 1];
    }
    if (padded != b.shape(y)) {
        throw b.error("paddings turn " + shape_to_string(b.shape(x)) + " into " + shape_to_string(padded) +
                      ", but the output declares " + shape_to_string(b.shape(y)));
    }
    const bool nchw = prefer_nchw(b, {x}, y);
    // TFLite: rows (before, after) per dim; ONNX: all befores, then all afters (NCHW order when nchw).
    std::vector<int64_t> onnx_pads(2 * r);
    for (int64_t d = 0; d < r; ++d) {
        const int64_t src = nchw ? kToNchw[d] : d;
        onnx_pads[d] = pads[2 * src];
        onnx_pads[d + r] = pads[2 * src + 1];
    }
    std::vector<std::string> ins{nchw ? b.nchw(x) : b.plain(x), b.i64_list(onnx_pads, b.slot(p).name + "#onnx_pads")};
    if (v2 && b.input(2, true) >= 0) ins.push_back(b.plain(b.input(2)));
    b.emit("Pad", ins, y, nchw, fb::ActivationFunctionType::NONE);
}

void map_reshape(Builder& b) {
    const int x = b.input(0), y = b.output(0);
    std::vector<int64_t> target;
    const int s = b.input(1, true);
    if (s >= 0) {
        target = b.constant_ints(s, "the new shape");
    } else if (const auto* o = b.op().builtin_options_as_ReshapeOptions(); o && o->new_shape()) {
        target.assign(o->new_shape()->begin(), o->new_shape()->end());
    } else {
        target = b.shape(y);
    }
    // TFLite's 0 is a zero-sized dim, not ONNX's "copy the input dim".
    b.emit("Reshape", {b.plain(x), b.i64_list(target, b.slot(y).name + "#shape")}, y, false,
           fb::ActivationFunctionType::NONE, {{"allowzero", int_attr(1)}});
}

void map_fully_connected(Builder& b) {
    const int x = b.input(0), w = b.input(1), bias = b.input(2, true), y = b.output(0);
    const auto* o = b.op().builtin_options_as_FullyConnectedOptions();
    if (o && o->weights_format() != fb::FullyConnectedOptionsWeightsFormat::DEFAULT) throw b.error("shuffled weights are not supported");
    if (b.rank(w) != 2) throw b.error("weight has shape " + shape_to_string(b.shape(w)) + ", 2 dims expected");
    const int64_t k = b.shape(w)[1];
    const std::string rows = b.slot(x).name + "#rows";
    // TFLite reads the input as rows of K whatever its rank.
    b.add_node("Reshape", {b.plain(x), b.i64_list({-1, k}, b.slot(x).name + "#rows_shape")}, {rows}, {}, "rows");
    std::vector<std::string> ins{rows, b.plain(w)};
    if (bias >= 0) ins.push_back(b.plain(bias));
    const auto act = o ? o->fused_activation_function() : fb::ActivationFunctionType::NONE;
    if (o && o->keep_num_dims()) {
        const std::string flat = b.slot(y).name + "#gemm";
        b.add_node("Gemm", ins, {flat}, {{"transB", int_attr(1)}}, "gemm");
        b.emit("Reshape", {flat, b.i64_list(b.shape(y), b.slot(y).name + "#shape")}, y, false, act);
    } else {
        b.emit("Gemm", ins, y, false, act, {{"transB", int_attr(1)}});
    }
}

void map_softmax(Builder& b) {
    const int x = b.input(0), y = b.output(0);
    const auto* o = b.op().builtin_options_as_SoftmaxOptions();
    std::string in = b.plain(x);
    if (o && o->beta() != 1.f) {
        const std::string scaled = in + "#beta";
        b.add_node("Mul", {in, b.scalar(o->beta())}, {scaled}, {}, "beta");
        in = scaled;
    }
    b.emit("Softmax", {in}, y, false, fb::ActivationFunctionType::NONE, {{"axis", int_attr(-1)}});
}

void map_transpose(Builder& b) {
    const int x = b.input(0), y = b.output(0);
    const std::vector<int64_t> perm = b.constant_ints(b.input(1), "perm");
    b.emit("Transpose", {b.plain(x)}, y, false, fb::ActivationFunctionType::NONE, {{"perm", ints_attr(perm)}});
}

void map_mean(Builder& b) {
    const int x = b.input(0), y = b.output(0);
    std::vector<int64_t> axes = b.constant_ints(b.input(1), "axes");
    const int64_t r = b.rank(x);
    for (int64_t& a : axes) a = a < 0 ? a + r : a;
    const std::set<int64_t> axis_set(axes.begin(), axes.end());
    if (r != 4 || axis_set != std::set<int64_t>{1, 2}) {
        throw b.error("MEAN over axes other than H and W of a 4-D NHWC tensor is not supported yet");
    }
    const auto* o = b.op().builtin_options_as_ReducerOptions();
    if (o && o->keep_dims()) {
        b.emit("GlobalAveragePool", {b.nchw(x)}, y, true, fb::ActivationFunctionType::NONE);
        return;
    }
    const std::string pooled = b.slot(y).name + "#pooled";
    b.add_node("GlobalAveragePool", {b.nchw(x)}, {pooled}, {}, "pool");
    b.emit("Reshape", {pooled, b.i64_list(b.shape(y), b.slot(y).name + "#shape")}, y, false,
           fb::ActivationFunctionType::NONE);
}

// float16 weights behind DEQUANTIZE are folded into float32 constants at import.
void map_dequantize(Builder& b) {
    const int x = b.input(0), y = b.output(0);
    const Tensor* c = b.constant(x);
    if (!c || b.slot(x).type != fb::TensorType::FLOAT16) {
        throw b.error("DEQUANTIZE of a non-constant or integer tensor: int8-quantized TFLite models are not supported yet");
    }
    Tensor f = Tensor::empty(c->shape(), DType::f32);
    const uint16_t* h = c->data<uint16_t>();
    for (int64_t i = 0; i < f.numel(); ++i) f.data<float>()[i] = fp16_to_fp32(h[i]);
    b.define_constant(y, std::move(f));
}

fb::ActivationFunctionType binary_activation(const Builder& b, int32_t code) {
    const fb::Operator& op = b.op();
    const auto none = fb::ActivationFunctionType::NONE;
    switch (code) {
        case ADD: return op.builtin_options_as_AddOptions() ? op.builtin_options_as_AddOptions()->fused_activation_function() : none;
        case SUB: return op.builtin_options_as_SubOptions() ? op.builtin_options_as_SubOptions()->fused_activation_function() : none;
        case MUL: return op.builtin_options_as_MulOptions() ? op.builtin_options_as_MulOptions()->fused_activation_function() : none;
        default: return op.builtin_options_as_DivOptions() ? op.builtin_options_as_DivOptions()->fused_activation_function() : none;
    }
}

// Names of the published builtin codes 0..145, for messages.
constexpr const char* kBuiltinNames[] = {
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE",
    "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
    "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1",
    "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS",
    "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER",
    "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
    "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT",
    "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS",
    "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV",
    "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW",
    "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT",
    "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE",
    "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL",
    "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE",
    "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5",
    "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM",
    "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND",
    "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE",
    "ASSIGN_VARIABLE", "BROADCAST_ARGS"};

}  // namespace

std::string builtin_op_name(int32_t code) {
    if (code >= 0 && static_cast<size_t>(code) < std::size(kBuiltinNames)) return kBuiltinNames[code];
    return "BUILTIN_" + std::to_string(code);
}

void map_operator(Builder& b, int32_t code) {
    switch (code) {
        case CONV_2D: return map_conv(b, false);
        case DEPTHWISE_CONV_2D: return map_conv(b, true);
        case MAX_POOL_2D: return map_pool(b, true);
        case AVERAGE_POOL_2D: return map_pool(b, false);
        case ADD: return map_binary(b, "Add", binary_activation(b, code));
        case SUB: return map_binary(b, "Sub", binary_activation(b, code));
        case MUL: return map_binary(b, "Mul", binary_activation(b, code));
        case DIV: return map_binary(b, "Div", binary_activation(b, code));
        case RELU: case RELU6: case RELU_N1_TO_1: case LOGISTIC: case TANH: case HARD_SWISH: return map_unary(b, code);
        case CONCATENATION: return map_concat(b);
        case PAD: return map_pad(b, false);
        case PADV2: return map_pad(b, true);
        case RESHAPE: return map_reshape(b);
        case FULLY_CONNECTED: return map_fully_connected(b);
        case SOFTMAX: return map_softmax(b);
        case TRANSPOSE: return map_transpose(b);
        case MEAN: return map_mean(b);
        case DEQUANTIZE: return map_dequantize(b);
        default: throw b.error("op " + builtin_op_name(code) + " is not supported by tern");
    }
}

}  // namespace tern::graph::tflite_detail
