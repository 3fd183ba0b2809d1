// graph/: the IR's checks (cycles, node errors), the ONNX importer's refusals
// (malformed file, unknown op, opset range, external data, short raw_data)
// and the executor on a small CNN built at test time.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/error.h"
#include "graph/executor.h"
#include "graph/onnx_import.h"
#include "onnx_model_builder.h"

namespace tern::testgraph {
namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "tern_graph_" + name; }

std::string import_error(const onnx::ModelProto& m, const std::string& name) {
    const std::string path = save_model(m, temp_path(name));
    try {
        graph::import_onnx_file(path);
    } catch (const InputError& e) {
        std::remove(path.c_str());
        return e.what();
    }
    std::remove(path.c_str());
    return "no error";
}

TEST(GraphIr, CycleIsAnErrorNamingANodeOnIt) {
    graph::Graph g;
    g.inputs = {"x"};
    g.outputs = {"b"};
    g.nodes.push_back({"Add", "add_a", {"x", "b"}, {"a"}, {}});
    g.nodes.push_back({"Relu", "relu_b", {"a"}, {"b"}, {}});
    try {
        (void)g.topological_order();
        FAIL() << "a cycle was accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("is on a cycle"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("node 'add_a'"), std::string::npos) << e.what();
    }
}

TEST(GraphIr, ConvWeightRankErrorNamesTheNode) {
    graph::Graph g;
    g.opset = 13;
    g.inputs = {"x"};
    g.outputs = {"y"};
    g.initializers["w"] = Tensor::zeros({2, 1, 3});
    g.nodes.push_back({"Conv", "Conv_12", {"x", "w"}, {"y"}, {}});
    const graph::Executor exec(g);
    try {
        exec.run({{"x", Tensor::zeros({1, 1, 4, 4})}});
        FAIL() << "a 3-D weight was accepted for a 4-D input";
    } catch (const InputError& e) {
        EXPECT_STREQ(e.what(), "[onnx] node 'Conv_12': weight has 3 dims, Conv needs 4");
    }
}

TEST(OnnxImport, SmallCnnRunsAndMatchesHandComputation) {
    const std::string path = save_model(small_cnn(), temp_path("cnn.onnx"));
    const graph::Graph g = graph::import_onnx_file(path);
    std::remove(path.c_str());
    ASSERT_EQ(g.nodes.size(), 4u);
    ASSERT_EQ(g.inputs, std::vector<std::string>{"x"});
    EXPECT_EQ(g.parameter_count(), 3 * 2 * 9 + 3);
    std::vector<float> xv(2 * 16);
    for (size_t i = 0; i < xv.size(); ++i) xv[i] = std::sin(0.3f * static_cast<float>(i));
    const auto out = graph::Executor(g).run({{"x", Tensor::from_floats({1, 2, 4, 4}, xv)}});
    const Tensor& y = out.at("y");
    ASSERT_EQ(y.shape(), (Shape{1, 3}));
    // The same network by hand: zero-padded 3x3 conv, bias, relu, mean over the 4x4 plane.
    const Tensor& w = g.initializers.at("w");
    const Tensor& b = g.initializers.at("b");
    for (int o = 0; o < 3; ++o) {
        double sum = 0;
        for (int h = 0; h < 4; ++h)
            for (int x = 0; x < 4; ++x) {
                double acc = b.data<float>()[o];
                for (int c = 0; c < 2; ++c)
                    for (int i = 0; i < 3; ++i)
                        for (int j = 0; j < 3; ++j) {
                            const int ih = h + i - 1, iw = x + j - 1;
                            if (ih < 0 || ih >= 4 || iw < 0 || iw >= 4) continue;
                            acc += w.data<float>()[((o * 2 + c) * 3 + i) * 3 + j] * xv[(c * 4 + ih) * 4 + iw];
                        }
                sum += std::max(acc, 0.0);
            }
        EXPECT_NEAR(y.data<float>()[o], sum / 16, 1e-5) << "channel " << o;
    }
}

TEST(OnnxImport, WrongInputShapeIsAnErrorNamingTheInput) {
    const std::string path = save_model(small_cnn(), temp_path("cnn_shape.onnx"));
    const graph::Graph g = graph::import_onnx_file(path);
    std::remove(path.c_str());
    try {
        graph::Executor(g).run({{"x", Tensor::zeros({1, 3, 4, 4})}});
        FAIL() << "a 3-channel input was accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("[input 'x'] has shape [1, 3, 4, 4]"), std::string::npos) << e.what();
    }
}

TEST(OnnxImport, MalformedFileIsAnInputErrorNamingIt) {
    const std::string path = temp_path("garbage.onnx");
    {
        std::ofstream f(path, std::ios::binary);
        f << "\xff\xff\xff\xff this is not a protobuf";
    }
    try {
        graph::import_onnx_file(path);
        FAIL() << "garbage was accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("[" + path + "] not an ONNX model"), std::string::npos) << e.what();
    }
    std::remove(path.c_str());
}

TEST(OnnxImport, UnknownOpIsOneErrorNamingOpAndNode) {
    onnx::ModelProto m = small_cnn();
    m.mutable_graph()->mutable_node(1)->set_op_type("FancyRelu");
    const std::string err = import_error(m, "unknown_op.onnx");
    EXPECT_NE(err.find("node 'relu0': op 'FancyRelu' is not supported by tern"), std::string::npos) << err;
}

TEST(OnnxImport, OpsetOutsideNineToSeventeenIsRefused) {
    for (int64_t opset : {8, 18}) {
        onnx::ModelProto m = small_cnn();
        m.mutable_opset_import(0)->set_version(opset);
        const std::string err = import_error(m, "opset.onnx");
        EXPECT_NE(err.find("opset " + std::to_string(opset) + " is outside the supported range 9..17"),
                  std::string::npos)
            << err;
    }
}

TEST(OnnxImport, ExternalDataIsRefusedNamingTheFile) {
    onnx::ModelProto m = small_cnn();
    auto* w = m.mutable_graph()->mutable_initializer(0);
    w->clear_float_data();
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = w->add_external_data();
    kv->set_key("location");
    kv->set_value("../../etc/passwd");
    const std::string err = import_error(m, "external.onnx");
    EXPECT_NE(err.find("initializer tensor 'w'] data is stored outside the model (external data '../../etc/passwd')"),
              std::string::npos)
        << err;
}

TEST(OnnxImport, ShortRawDataIsRefusedBeforeAllocating) {
    onnx::ModelProto m = small_cnn();
    auto* w = m.mutable_graph()->mutable_initializer(0);
    w->clear_float_data();
    w->clear_dims();
    for (int64_t d : {1LL << 20, 1LL << 20, 1LL << 20}) w->add_dims(d);  // 2^60 floats claimed
    w->set_raw_data(std::string(16, '\0'));
    const std::string err = import_error(m, "short_raw.onnx");
    EXPECT_NE(err.find("initializer tensor 'w'] shape [1048576, 1048576, 1048576] of FLOAT needs"), std::string::npos) << err;
}

TEST(OnnxImport, CycleInAFileIsRefusedNamingTheFile) {
    onnx::ModelProto m = small_cnn();
    m.mutable_graph()->mutable_node(0)->set_input(0, "y");  // conv reads the graph's own output
    const std::string err = import_error(m, "cycle.onnx");
    EXPECT_NE(err.find("is on a cycle of the graph"), std::string::npos) << err;
}


TEST(OnnxImport, ShapeInferenceRefusesAWrongWeightRankAtImport) {
    onnx::ModelProto m = small_cnn();
    m.mutable_graph()->mutable_initializer(0)->clear_dims();
    for (int64_t d : {3, 2, 9}) m.mutable_graph()->mutable_initializer(0)->add_dims(d);
    const std::string err = import_error(m, "conv_rank.onnx");
    EXPECT_NE(err.find("[onnx] node 'conv0': weight has 3 dims, Conv needs 4"), std::string::npos) << err;
}

TEST(OnnxImport, ShapeInferenceFillsEveryValueOfASmallCnn) {
    const std::string path = save_model(small_cnn(), temp_path("cnn_infer.onnx"));
    const graph::Graph g = graph::import_onnx_file(path);
    std::remove(path.c_str());
    EXPECT_EQ(g.values.at("c").shape, (Shape{-1, 3, 4, 4}));
    EXPECT_EQ(g.values.at("p").shape, (Shape{-1, 3, 1, 1}));
    EXPECT_EQ(g.values.at("c").dtype, DType::f32);
}

}  // namespace
}  // namespace tern::testgraph
