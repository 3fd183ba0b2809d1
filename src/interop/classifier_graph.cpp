// The nn -> graph conversion walks the module tree and emits one ONNX node
// per layer, reading each model's structure from its module fields (the same
// fields its forward() reads). Tracing forward() would need a recording hook
// in every autograd op of nn/; the zoo is a small fixed set of architectures,
// so an explicit emitter per module type is simpler, and a model without one
// is refused by name instead of being traced wrongly. The tests hold each
// emitter to its module's forward() on real weights (1e-5).
#include "interop/classifier_graph.h"

#include <span>

#include "core/error.h"
#include "core/mapped_file.h"
#include "graph/onnx_export.h"
#include "graph/shape_inference.h"
#include "io/model_container.h"
#include "nn/models/lenet.h"
#include "nn/models/mobilenetv2.h"
#include "nn/modules/sequential.h"
#include "nn/train/model_file.h"

namespace tern::interop {

namespace {

using graph::Attribute;
using graph::float_attr;
using graph::int_attr;
using graph::ints_attr;

class GraphEmitter {
public:
    explicit GraphEmitter(graph::Graph& g) : g_(g) {}

    // One node named `name` whose single output is also called `name`.
    std::string node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                     std::map<std::string, Attribute> attrs = {}) {
        graph::Node n;
        n.op_type = op;
        n.name = name;
        n.inputs = std::move(inputs);
        n.outputs = {name};
        n.attributes = std::move(attrs);
        g_.nodes.push_back(std::move(n));
        return name;
    }
    std::string initializer(const std::string& name, const Tensor& t) {
        g_.initializers[name] = t;
        return name;
    }

    // Dispatch on the module's type; `path` is its dotted name in the checkpoint.
    std::string module(nn::UnaryModule& m, const std::string& path, const std::string& x) {
        using namespace nn::models;
        if (auto* p = dynamic_cast<LeNet300*>(&m)) return lenet300(*p, x);
        if (auto* p = dynamic_cast<LeNet5*>(&m)) return lenet5(*p, x);
        if (auto* p = dynamic_cast<MobileNetV2*>(&m)) return mobilenetv2(*p, x);
        if (auto* p = dynamic_cast<InvertedResidual*>(&m)) return inverted_residual(*p, path, x);
        if (auto* p = dynamic_cast<nn::Sequential*>(&m)) {
            std::string h = x;
            for (size_t i = 0; i < p->size(); ++i) h = module((*p)[i], join(path, std::to_string(i)), h);
            return h;
        }
        if (auto* p = dynamic_cast<nn::Conv2d*>(&m)) return conv(*p, path, x);
        if (auto* p = dynamic_cast<nn::BatchNorm2d*>(&m)) return batch_norm(*p, path, x);
        if (auto* p = dynamic_cast<nn::Linear*>(&m)) return linear(*p, path, x);
        throw InputError("export", "module '" + (path.empty() ? std::string("(model)") : path) +
                                       "' has a type with no graph form yet");
    }

private:
    static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

    std::string conv(nn::Conv2d& c, const std::string& path, const std::string& x) {
        const Tensor& w = c.weight.value();  // (O, C/groups, kh, kw)
        const auto& p = c.params;
        std::vector<std::string> in = {x, initializer(join(path, "weight"), w)};
        if (c.bias.defined()) in.push_back(initializer(join(path, "bias"), c.bias.value()));
        return node("Conv", path, in,
                    {{"kernel_shape", ints_attr({w.dim(2), w.dim(3)})},
                     {"strides", ints_attr({p.stride_h, p.stride_w})},
                     {"pads", ints_attr({p.pad_h, p.pad_w, p.pad_h, p.pad_w})},
                     {"dilations", ints_attr({p.dilation_h, p.dilation_w})},
                     {"group", int_attr(p.groups)}});
    }
    // Eval mode: running statistics, eps inside the square root as ONNX defines it.
    std::string batch_norm(nn::BatchNorm2d& bn, const std::string& path, const std::string& x) {
        return node("BatchNormalization", path,
                    {x, initializer(join(path, "weight"), bn.weight.value()), initializer(join(path, "bias"), bn.bias.value()),
                     initializer(join(path, "running_mean"), bn.running_mean),
                     initializer(join(path, "running_var"), bn.running_var)},
                    {{"epsilon", float_attr(bn.eps)}});
    }
    // y = x W^T + b with W (out, in): Gemm with transB.
    std::string linear(nn::Linear& l, const std::string& path, const std::string& x) {
        std::vector<std::string> in = {x, initializer(join(path, "weight"), l.weight.value())};
        if (l.bias.defined()) in.push_back(initializer(join(path, "bias"), l.bias.value()));
        return node("Gemm", path, in, {{"transB", int_attr(1)}});
    }
    std::string relu(const std::string& name, const std::string& x) { return node("Relu", name, {x}); }
    // clamp(x, 0, 6): Clip with min/max inputs (opset 11+).
    std::string relu6(const std::string& name, const std::string& x) {
        if (!g_.initializers.count("relu6.min")) {
            initializer("relu6.min", Tensor::from_floats({}, std::vector<float>{0.f}));
            initializer("relu6.max", Tensor::from_floats({}, std::vector<float>{6.f}));
        }
        return node("Clip", name, {x, "relu6.min", "relu6.max"});
    }
    std::string flatten(const std::string& name, const std::string& x) {
        return node("Flatten", name, {x}, {{"axis", int_attr(1)}});
    }
    std::string max_pool_2x2(const std::string& name, const std::string& x) {
        return node("MaxPool", name, {x}, {{"kernel_shape", ints_attr({2, 2})}, {"strides", ints_attr({2, 2})}});
    }

    std::string lenet300(nn::models::LeNet300& m, const std::string& x) {
        std::string h = relu("relu1", linear(*m.fc1, "fc1", flatten("flatten", x)));
        h = relu("relu2", linear(*m.fc2, "fc2", h));
        return linear(*m.fc3, "fc3", h);
    }
    std::string lenet5(nn::models::LeNet5& m, const std::string& x) {
        std::string h = conv(*m.conv1, "conv1", x);
        if (m.bn1) h = batch_norm(*m.bn1, "bn1", h);
        h = max_pool_2x2("pool1", relu("relu1", h));
        h = conv(*m.conv2, "conv2", h);
        if (m.bn2) h = batch_norm(*m.bn2, "bn2", h);
        h = max_pool_2x2("pool2", relu("relu2", h));
        h = relu("relu3", linear(*m.fc1, "fc1", flatten("flatten", h)));
        h = relu("relu4", linear(*m.fc2, "fc2", h));
        return linear(*m.fc3, "fc3", h);
    }
    std::string inverted_residual(nn::models::InvertedResidual& b, const std::string& path, const std::string& x) {
        std::string h = x;
        if (b.expand) {
            h = conv(*b.expand, join(path, "expand"), h);
            h = relu6(join(path, "expand_relu6"), batch_norm(*b.expand_bn, join(path, "expand_bn"), h));
        }
        h = relu6(join(path, "dw_relu6"), batch_norm(*b.dw_bn, join(path, "dw_bn"), conv(*b.dw, join(path, "dw"), h)));
        h = batch_norm(*b.project_bn, join(path, "project_bn"), conv(*b.project, join(path, "project"), h));
        return b.residual ? node("Add", join(path, "add"), {x, h}) : h;
    }
    std::string mobilenetv2(nn::models::MobileNetV2& m, const std::string& x) {
        std::string h = relu6("stem_relu6", batch_norm(*m.stem_bn, "stem_bn", conv(*m.stem, "stem", x)));
        h = module(*m.blocks, "blocks", h);
        h = relu6("head_relu6", batch_norm(*m.head_bn, "head_bn", conv(*m.head, "head", h)));
        h = flatten("pool_flatten", node("GlobalAveragePool", "pool", {h}));
        return linear(*m.classifier, "classifier", h);
    }

    graph::Graph& g_;
};

}  // namespace

graph::Graph classifier_graph(nn::UnaryModule& model, const std::string& model_name, int64_t channels, int64_t height,
                              int64_t width) {
    graph::Graph g;
    g.name = model_name;
    g.opset = kExportOpset;
    g.inputs = {kImageInput};
    g.values[kImageInput] = {Shape{-1, channels, height, width}, DType::f32};
    GraphEmitter emit(g);
    const std::string logits = emit.module(model, "", kImageInput);
    // The last node's output gets the graph output's name.
    for (auto& out : g.nodes.back().outputs)
        if (out == logits) out = kLogitsOutput;
    g.outputs = {kLogitsOutput};
    for (const auto& [name, t] : g.initializers) g.values[name] = {t.shape(), t.dtype()};
    graph::infer_shapes(g);  // fills every value's shape and checks the graph is well formed
    return g;
}

namespace {

// A file that is not safetensors at all (an ONNX model, a GGUF) is named as
// such, not reported as a safetensors header that fails to parse.
void require_safetensors(const std::string& path) {
    const auto f = MappedFile::open(path);
    const std::span<const uint8_t> bytes(f->data(), f->size());
    const char* expected = "expected a classifier written by `tern train` (.safetensors)";
    if (bytes.empty()) throw InputError(path, std::string("is empty; ") + expected);
    io::ModelContainer kind;
    try {
        kind = io::detect_model_container(bytes, path);
    } catch (const InputError&) {
        throw InputError(path, "not a safetensors file (starts with " + io::describe_leading_bytes(bytes) + "); " + expected);
    }
    if (kind == io::ModelContainer::gguf) throw InputError(path, std::string("is a GGUF model; ") + expected);
}

graph::Graph graph_of(const nn::train::ClassifierFile& f, const std::string& model_path) {
    // Its fp32 graph would silently drop the learned quantization.
    if (f.metadata.count("tern.qat"))
        throw InputError(model_path, "is a QAT model (fake-quantized weights and inputs); its fp32 graph would drop the "
                                     "learned grid: export it with tern export (integer-only QDQ)");
    if (f.metadata.count("tern.binary"))
        throw InputError(model_path, "is a binary / ternary model (packed 1- or 2-bit layers); exporting or quantizing it "
                                     "as a graph is not supported: evaluate it with tern eval");
    // The zoo's models take 28x28 grey images (nn/models/zoo.h).
    return classifier_graph(*f.model, f.model_name, 1, 28, 28);
}

}  // namespace

graph::Graph load_classifier_graph(const std::string& model_path) {
    require_safetensors(model_path);
    return graph_of(nn::train::load_classifier(model_path), model_path);
}

graph::Graph export_classifier_onnx(const std::string& model_path, const std::string& onnx_path, QatGraphReport* qat) {
    graph::Graph g;
    if (qat) *qat = {};
    require_safetensors(model_path);
    const nn::train::ClassifierFile f = nn::train::load_classifier(model_path);
    if (f.metadata.count("tern.qat"))  // the zoo's models take 28x28 grey images
        g = qat_classifier_graph(*f.model, f.model_name, 1, 28, 28, model_path, qat);
    else
        g = graph_of(f, model_path);
    graph::export_onnx_file(g, onnx_path);
    return g;
}

}  // namespace tern::interop
