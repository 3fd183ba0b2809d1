// graph/memory_plan.h and graph/prepared_executor.h: arena offsets never let
// two live buffers share bytes; the prepared executor's MobileNet-style plan
// is >= 3x below allocating every tensor and its outputs equal the reference
// executor's exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "graph/executor.h"
#include "graph/memory_plan.h"
#include "graph/onnx_import.h"
#include "graph/passes.h"
#include "graph/prepared_executor.h"
#include "mobilenet_builder.h"
#include "onnx_model_builder.h"

namespace tern::testgraph {
namespace {

void expect_no_conflicts(const std::vector<graph::BufferLife>& b, const graph::MemoryPlan& p) {
    for (size_t i = 0; i < b.size(); ++i) {
        EXPECT_EQ(p.offsets[i] % graph::kArenaAlignment, 0);
        EXPECT_LE(p.offsets[i] + b[i].bytes, p.arena_bytes);
        for (size_t j = i + 1; j < b.size(); ++j) {
            const bool alive_together = b[i].first <= b[j].last && b[j].first <= b[i].last;
            const bool bytes_meet = p.offsets[i] < p.offsets[j] + b[j].bytes && p.offsets[j] < p.offsets[i] + b[i].bytes;
            EXPECT_FALSE(alive_together && bytes_meet && b[i].bytes && b[j].bytes) << "buffers " << i << " and " << j;
        }
    }
}

TEST(MemoryPlan, ChainReusesMemory) {
    // a -> b -> c -> d: each lives from its step to the next; two buffers at a time.
    const std::vector<graph::BufferLife> b{{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}};
    const graph::MemoryPlan p = graph::plan_memory(b);
    expect_no_conflicts(b, p);
    EXPECT_EQ(p.arena_bytes, 2 * 1024);
    EXPECT_EQ(p.naive_bytes, 4000);
}

TEST(MemoryPlan, RandomLifetimesNeverOverlap) {
    std::mt19937 rng(7);
    for (int trial = 0; trial < 50; ++trial) {
        std::vector<graph::BufferLife> b(40);
        for (auto& x : b) {
            x.first = rng() % 30;
            x.last = x.first + rng() % 8;
            x.bytes = rng() % 5000;
        }
        expect_no_conflicts(b, graph::plan_memory(b));
    }
}

graph::Graph memory_plan_import(const onnx::ModelProto& m) {
    const std::string bytes = m.SerializeAsString();
    return graph::import_onnx_bytes(bytes.data(), bytes.size(), "test.onnx");
}

Tensor memory_plan_test_input() {
    Tensor t = Tensor::empty({1, 3, 32, 32}, DType::f32);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 2.f * std::sin(0.7f * static_cast<float>(i));
    return t;
}

bool memory_plan_bitwise_equal(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && std::memcmp(a.data<float>(), b.data<float>(), a.nbytes()) == 0;
}

TEST(PreparedExecutor, MobileNetPlanIsThreeTimesBelowNaiveAndExact) {
    const graph::Graph original = memory_plan_import(mobilenet_style(6));
    for (const graph::Graph& g : {original, graph::optimize(original)}) {
        graph::PreparedExecutor exec(g, {{"x", {1, 3, 32, 32}}});
        EXPECT_GE(exec.naive_activation_bytes(), 3 * exec.peak_activation_bytes())
            << "naive " << exec.naive_activation_bytes() << " planned " << exec.peak_activation_bytes();
        EXPECT_LE(exec.reference_nodes(), 1);  // the Gemm head
        EXPECT_GT(exec.macs(), 0);
        const Tensor x = memory_plan_test_input();
        const Tensor want = graph::Executor(g).run({{"x", x}}).at("y");
        EXPECT_TRUE(memory_plan_bitwise_equal(exec.run({{"x", x}}).at("y"), want));
        EXPECT_TRUE(memory_plan_bitwise_equal(exec.run({{"x", x}}).at("y"), want));  // the arena reused
    }
}

TEST(PreparedExecutor, ElementwiseRunsInPlace) {
    // Conv -> BatchNorm -> Clip unoptimized: BN and Clip take over their input's buffer.
    const graph::Graph g = memory_plan_import(mobilenet_style(0));
    graph::PreparedExecutor exec(g, {{"x", {1, 3, 32, 32}}});
    const int64_t stem = 16 * 16 * 16 * 4;  // (1, 16, 16, 16) f32
    EXPECT_LT(exec.peak_activation_bytes(), 2 * stem);
    EXPECT_GE(exec.naive_activation_bytes(), 4 * stem);
}

TEST(PreparedExecutor, OtherInputShapeIsRefused) {
    const graph::Graph g = memory_plan_import(mobilenet_style(1));
    graph::PreparedExecutor exec(g, {{"x", {1, 3, 32, 32}}});
    try {
        exec.run({{"x", Tensor::zeros({1, 3, 16, 16})}});
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("the plan was made for f32 [1, 3, 32, 32]"), std::string::npos) << e.what();
    }
}

// Binary ops whose operands broadcast per channel, per row (LayerNorm's mean),
// as a trailing-axes bias, or in both orders run on prepared loops with the
// reference executor's bits; patterns no plane split fits still run (on the reference op).
TEST(PreparedExecutor, BroadcastBinaryOpsArePreparedAndExact) {
    const Shape x{2, 3, 4, 5};
    struct Case {
        Shape b;
        bool b_first;
        bool prepared;
    };
    const std::vector<Case> cases{{{2, 3, 4, 5}, false, true}, {{1}, false, true},      {{2, 3, 1, 1}, false, true},
                                  {{2, 3, 4, 1}, true, true},  {{3, 1, 1}, false, false}, {{5}, false, true},
                                  {{4, 5}, true, true},        {{3, 4, 5}, false, true}, {{2, 1, 4, 1}, false, false},
                                  {{1, 3, 1, 1}, false, false}};
    for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
        for (const Case& c : cases) {
            onnx::ModelProto m = model_with_opset(13);
            add_value(m.mutable_graph()->mutable_input(), "x", x);
            add_value(m.mutable_graph()->mutable_output(), "y", x);
            std::vector<float> bv(static_cast<size_t>(shape_numel(c.b)));
            for (size_t i = 0; i < bv.size(); ++i) bv[i] = 0.5f + 0.37f * static_cast<float>(i % 7);
            add_initializer(m, "b", c.b, bv);
            add_node(m, op, "n", c.b_first ? std::vector<std::string>{"b", "x"} : std::vector<std::string>{"x", "b"}, {"y"});
            const graph::Graph g = memory_plan_import(m);
            graph::PreparedExecutor exec(g, {{"x", x}});
            const std::string what = std::string(op) + " with " + shape_to_string(c.b);
            EXPECT_EQ(exec.reference_nodes(), c.prepared ? 0 : 1) << what;
            Tensor in = Tensor::empty(x, DType::f32);
            for (int64_t i = 0; i < in.numel(); ++i) in.data<float>()[i] = std::sin(0.3f * static_cast<float>(i)) - 0.1f;
            const Tensor want = graph::Executor(g).run({{"x", in}}).at("y");
            EXPECT_TRUE(memory_plan_bitwise_equal(exec.run({{"x", in}}).at("y"), want)) << what;
        }
    }
}

}  // namespace
}  // namespace tern::testgraph
