#pragma once
// Builds small ONNX models at test time with the protobuf classes (no binary
// fixtures), for importer, executor and CLI tests.
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif
#include <onnx/onnx_pb.h>

#include <fstream>
#include <string>
#include <vector>

namespace tern::testgraph {

inline onnx::ModelProto model_with_opset(int64_t opset) {
    onnx::ModelProto m;
    m.set_ir_version(8);
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    m.mutable_graph()->set_name("test");
    return m;
}

inline void add_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name,
                      const std::vector<int64_t>& dims, int elem = onnx::TensorProto::FLOAT) {
    auto* v = list->Add();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) {
        if (d < 0) {
            shape->add_dim()->set_dim_param("N");
        } else {
            shape->add_dim()->set_dim_value(d);
        }
    }
}

inline onnx::NodeProto* add_node(onnx::ModelProto& m, const std::string& op, const std::string& name,
                                 const std::vector<std::string>& in, const std::vector<std::string>& out) {
    auto* n = m.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& s : in) n->add_input(s);
    for (const auto& s : out) n->add_output(s);
    return n;
}

inline onnx::TensorProto* add_initializer(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& dims,
                                          const std::vector<float>& values) {
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
    return t;
}

inline void add_int_attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
}

inline void add_ints_attr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
}

inline std::string save_model(const onnx::ModelProto& m, const std::string& path) {
    std::ofstream f(path, std::ios::binary);
    m.SerializeToOstream(&f);
    return path;
}

// x (1, 2, 4, 4) -> Conv 3x3 pad 1 (2 -> 3 channels) -> Relu -> GlobalAveragePool -> Flatten -> y (1, 3).
inline onnx::ModelProto small_cnn() {
    onnx::ModelProto m = model_with_opset(13);
    auto* g = m.mutable_graph();
    add_value(g->mutable_input(), "x", {-1, 2, 4, 4});
    add_value(g->mutable_output(), "y", {-1, 3});
    std::vector<float> w(3 * 2 * 3 * 3);
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(static_cast<int>(i % 7) - 3) / 8.f;
    add_initializer(m, "w", {3, 2, 3, 3}, w);
    add_initializer(m, "b", {3}, {0.5f, -0.25f, 0.125f});
    auto* conv = add_node(m, "Conv", "conv0", {"x", "w", "b"}, {"c"});
    add_ints_attr(conv, "pads", {1, 1, 1, 1});
    add_ints_attr(conv, "kernel_shape", {3, 3});
    add_node(m, "Relu", "relu0", {"c"}, {"r"});
    add_node(m, "GlobalAveragePool", "gap0", {"r"}, {"p"});
    add_node(m, "Flatten", "flat0", {"p"}, {"y"});
    return m;
}

}  // namespace tern::testgraph
