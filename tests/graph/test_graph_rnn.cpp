// graph/ops_rnn.cpp: LSTM, GRU and RNN beyond what the conformance data covers (which has
// forward-only, full-length cases): bidirectional and reverse, uneven
// sequence_lens, initial state, peepholes and clip, checked against ONNX
// Runtime on models written at test time.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/executor.h"
#include "graph/onnx_import.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "onnx_model_builder.h"
#include "ort_reference.h"

namespace tern::testgraph {
namespace {

std::vector<float> wave(int64_t n, float phase) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = 0.6f * std::sin(0.37f * static_cast<float>(i) + phase);
    return v;
}

struct LstmCase {
    std::string direction;
    bool batch_major;
    bool clip;
};

// X (seq 5, batch 3, input 4) or its batch-major transpose; hidden 6.
onnx::ModelProto lstm_model(const LstmCase& c, int64_t dirs) {
    const int64_t S = 5, B = 3, I = 4, H = 6;
    onnx::ModelProto m = model_with_opset(14);
    auto* g = m.mutable_graph();
    const std::vector<int64_t> state = c.batch_major ? std::vector<int64_t>{B, dirs, H} : std::vector<int64_t>{dirs, B, H};
    add_value(g->mutable_input(), "X", c.batch_major ? std::vector<int64_t>{B, S, I} : std::vector<int64_t>{S, B, I});
    add_value(g->mutable_input(), "lens", {B}, onnx::TensorProto::INT32);
    add_value(g->mutable_input(), "h0", state);
    add_value(g->mutable_input(), "c0", state);
    add_value(g->mutable_output(), "Y", c.batch_major ? std::vector<int64_t>{B, S, dirs, H} : std::vector<int64_t>{S, dirs, B, H});
    add_value(g->mutable_output(), "Y_h", state);
    add_value(g->mutable_output(), "Y_c", state);
    add_initializer(m, "W", {dirs, 4 * H, I}, wave(dirs * 4 * H * I, 0.1f));
    add_initializer(m, "R", {dirs, 4 * H, H}, wave(dirs * 4 * H * H, 1.3f));
    add_initializer(m, "B", {dirs, 8 * H}, wave(dirs * 8 * H, 2.2f));
    add_initializer(m, "P", {dirs, 3 * H}, wave(dirs * 3 * H, 0.7f));
    auto* n = add_node(m, "LSTM", "lstm", {"X", "W", "R", "B", "lens", "h0", "c0", "P"}, {"Y", "Y_h", "Y_c"});
    add_int_attr(n, "hidden_size", H);
    if (c.batch_major) add_int_attr(n, "layout", 1);
    auto* dir = n->add_attribute();
    dir->set_name("direction");
    dir->set_type(onnx::AttributeProto::STRING);
    dir->set_s(c.direction);
    if (c.clip) {
        auto* clip = n->add_attribute();
        clip->set_name("clip");
        clip->set_type(onnx::AttributeProto::FLOAT);
        clip->set_f(0.9f);
    }
    return m;
}

TEST(GraphRnn, LstmMatchesOnnxRuntimeInEveryDirection) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    // Layout 1 is left to the conformance case test_lstm_batchwise: ONNX Runtime's CPU LSTM refuses it.
    // Two cases keep the ONNX Runtime start-ups few: bidirectional covers forward too.
    const LstmCase cases[] = {{"bidirectional", false, true}, {"reverse", false, false}};
    for (const LstmCase& c : cases) {
        SCOPED_TRACE(c.direction + (c.batch_major ? " layout 1" : " layout 0") + (c.clip ? " clip" : ""));
        const int64_t dirs = c.direction == "bidirectional" ? 2 : 1;
        testio::TempDir dir;
        const std::string model = save_model(lstm_model(c, dirs), dir.file("lstm.onnx"));
        const Shape x_shape = c.batch_major ? Shape{3, 5, 4} : Shape{5, 3, 4};
        const Shape state = c.batch_major ? Shape{3, dirs, 6} : Shape{dirs, 3, 6};
        std::map<std::string, Tensor> in = {{"X", Tensor::from_floats(x_shape, wave(60, 0.4f))},
                                            {"h0", Tensor::from_floats(state, wave(dirs * 18, 1.9f))},
                                            {"c0", Tensor::from_floats(state, wave(dirs * 18, 2.8f))}};
        in["lens"] = Tensor::empty({3}, DType::i32);
        const int32_t lens[] = {5, 2, 4};  // uneven: the reverse direction starts at each sequence's own end
        std::copy(lens, lens + 3, in["lens"].data<int32_t>());
        std::map<std::string, std::string> files;
        for (const auto& [name, t] : in) write_npy(files[name] = dir.file(name + ".npy"), t);

        const auto ort = testref::ort_run(model, files, dir.file("ort"));
        const auto got = graph::Executor(graph::import_onnx_file(model)).run(in);
        ASSERT_EQ(ort.outputs.size(), 3u);
        for (const auto& o : ort.outputs) {
            const Tensor want = read_npy(o.file);
            const Tensor& have = got.at(o.name);
            ASSERT_EQ(have.shape(), want.shape()) << o.name;
            for (int64_t i = 0; i < want.numel(); ++i) {
                const float w = want.data<float>()[i];
                EXPECT_NEAR(have.data<float>()[i], w, 1e-5f * (1.f + std::fabs(w))) << o.name << " element " << i;
            }
        }
    }
}

// GRU (gates z, r, h) and RNN: bidirectional / reverse with uneven lengths and
// an initial state; GRU with linear_before_reset, which no conformance case sets.
onnx::ModelProto gru_or_rnn_model(const std::string& op, int64_t gates, const std::string& direction, int64_t dirs) {
    const int64_t S = 5, B = 3, I = 4, H = 6;
    onnx::ModelProto m = model_with_opset(14);
    auto* g = m.mutable_graph();
    add_value(g->mutable_input(), "X", {S, B, I});
    add_value(g->mutable_input(), "lens", {B}, onnx::TensorProto::INT32);
    add_value(g->mutable_input(), "h0", {dirs, B, H});
    add_value(g->mutable_output(), "Y", {S, dirs, B, H});
    add_value(g->mutable_output(), "Y_h", {dirs, B, H});
    add_initializer(m, "W", {dirs, gates * H, I}, wave(dirs * gates * H * I, 0.3f));
    add_initializer(m, "R", {dirs, gates * H, H}, wave(dirs * gates * H * H, 1.1f));
    add_initializer(m, "B", {dirs, 2 * gates * H}, wave(dirs * 2 * gates * H, 2.5f));
    auto* n = add_node(m, op, "cell", {"X", "W", "R", "B", "lens", "h0"}, {"Y", "Y_h"});
    add_int_attr(n, "hidden_size", H);
    if (op == "GRU") add_int_attr(n, "linear_before_reset", 1);
    auto* dir = n->add_attribute();
    dir->set_name("direction");
    dir->set_type(onnx::AttributeProto::STRING);
    dir->set_s(direction);
    return m;
}

TEST(GraphRnn, GruAndRnnMatchOnnxRuntime) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    const struct {
        std::string op;
        int64_t gates;
        std::string direction;
    } cases[] = {{"GRU", 3, "bidirectional"}, {"RNN", 1, "reverse"}};
    for (const auto& c : cases) {
        SCOPED_TRACE(c.op + " " + c.direction);
        const int64_t dirs = c.direction == "bidirectional" ? 2 : 1;
        testio::TempDir dir;
        const std::string model = save_model(gru_or_rnn_model(c.op, c.gates, c.direction, dirs), dir.file("m.onnx"));
        std::map<std::string, Tensor> in = {{"X", Tensor::from_floats({5, 3, 4}, wave(60, 0.9f))},
                                            {"h0", Tensor::from_floats({dirs, 3, 6}, wave(dirs * 18, 1.7f))}};
        in["lens"] = Tensor::empty({3}, DType::i32);
        const int32_t lens[] = {3, 5, 1};
        std::copy(lens, lens + 3, in["lens"].data<int32_t>());
        std::map<std::string, std::string> files;
        for (const auto& [name, t] : in) write_npy(files[name] = dir.file(name + ".npy"), t);
        const auto ort = testref::ort_run(model, files, dir.file("ort"));
        const auto got = graph::Executor(graph::import_onnx_file(model)).run(in);
        ASSERT_EQ(ort.outputs.size(), 2u);
        for (const auto& o : ort.outputs) {
            const Tensor want = read_npy(o.file);
            const Tensor& have = got.at(o.name);
            ASSERT_EQ(have.shape(), want.shape()) << o.name;
            for (int64_t i = 0; i < want.numel(); ++i) {
                const float w = want.data<float>()[i];
                EXPECT_NEAR(have.data<float>()[i], w, 1e-5f * (1.f + std::fabs(w))) << o.name << " element " << i;
            }
        }
    }
}

TEST(GraphRnn, LstmRefusesAWrongWeightShapeNamingTheNode) {
    onnx::ModelProto m = lstm_model({"forward", false, false}, 2);  // weights for two directions, direction forward
    testio::TempDir dir;
    const std::string model = save_model(m, dir.file("bad.onnx"));
    const graph::Graph g = graph::import_onnx_file(model);
    std::map<std::string, Tensor> in = {{"X", Tensor::zeros({5, 3, 4})}, {"h0", Tensor::zeros({2, 3, 6})},
                                        {"c0", Tensor::zeros({2, 3, 6})}, {"lens", Tensor::zeros({3}, DType::i32)}};
    try {
        graph::Executor(g).run(in);
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("node 'lstm': W has shape [2, 24, 4], LSTM needs [1, 24, 4]"),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace tern::testgraph
