#pragma once
// Writes small TFLite files at test time with the builders flatc generates
// from src/graph/tflite_schema.fbs: tensors (activations and constants), ops
// with their options, inputs and outputs. Hostile variants set fields the
// importer must refuse (a buffer index past the end, data that disagrees with
// the shape, huge dims, an input index past the tensors).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "graph/tflite_schema_generated.h"

namespace tern::testgraph {

namespace tfl = ::tern::tflite_fb;

class TfliteFile {
public:
    struct TensorSpec {
        std::string name;
        std::vector<int32_t> shape;
        tfl::TensorType type = tfl::TensorType::FLOAT32;
        std::vector<uint8_t> data;  // empty: an activation
        int64_t buffer_override = -1;  // >= 0: written as the buffer index whatever the data
    };
    struct OpSpec {
        int32_t code;
        std::vector<int32_t> inputs, outputs;
        tfl::BuiltinOptions options_type;
        flatbuffers::Offset<void> options;
    };

    flatbuffers::FlatBufferBuilder fbb;  // options tables are made on it before finish()
    std::vector<TensorSpec> tensors;
    std::vector<OpSpec> ops;
    uint32_t version = 3;

    int tensor(const std::string& name, std::vector<int32_t> shape) {
        TensorSpec s;
        s.name = name, s.shape = std::move(shape);
        tensors.push_back(std::move(s));
        return static_cast<int>(tensors.size()) - 1;
    }
    template <class T>
    int constant(const std::string& name, std::vector<int32_t> shape, const std::vector<T>& values,
                 tfl::TensorType type) {
        TensorSpec s;
        s.name = name, s.shape = std::move(shape), s.type = type;
        s.data.resize(values.size() * sizeof(T));
        std::memcpy(s.data.data(), values.data(), s.data.size());
        tensors.push_back(std::move(s));
        return static_cast<int>(tensors.size()) - 1;
    }
    int floats(const std::string& name, std::vector<int32_t> shape, const std::vector<float>& v) {
        return constant(name, std::move(shape), v, tfl::TensorType::FLOAT32);
    }
    int ints(const std::string& name, std::vector<int32_t> shape, const std::vector<int32_t>& v) {
        return constant(name, std::move(shape), v, tfl::TensorType::INT32);
    }
    template <class Options>
    void op(int32_t code, std::vector<int32_t> inputs, std::vector<int32_t> outputs, tfl::BuiltinOptions type,
            flatbuffers::Offset<Options> options) {
        ops.push_back({code, std::move(inputs), std::move(outputs), type, options.Union()});
    }
    void op(int32_t code, std::vector<int32_t> inputs, std::vector<int32_t> outputs) {
        ops.push_back({code, std::move(inputs), std::move(outputs), tfl::BuiltinOptions::NONE, 0});
    }

    // The file's bytes; one operator code per distinct code, buffer 0 empty (as TFLite's converter writes).
    std::string finish(const std::vector<int32_t>& inputs, const std::vector<int32_t>& outputs) {
        std::vector<flatbuffers::Offset<tfl::Buffer>> buffers{tfl::CreateBuffer(fbb)};
        std::vector<flatbuffers::Offset<tfl::Tensor>> ts;
        for (const TensorSpec& s : tensors) {
            uint32_t buffer = 0;
            if (!s.data.empty()) {
                fbb.ForceVectorAlignment(s.data.size(), 1, 16);
                buffers.push_back(tfl::CreateBuffer(fbb, fbb.CreateVector(s.data)));
                buffer = static_cast<uint32_t>(buffers.size() - 1);
            }
            if (s.buffer_override >= 0) buffer = static_cast<uint32_t>(s.buffer_override);
            ts.push_back(tfl::CreateTensorDirect(fbb, &s.shape, s.type, buffer, s.name.c_str()));
        }
        std::vector<int32_t> codes;
        std::vector<flatbuffers::Offset<tfl::Operator>> os;
        for (const OpSpec& o : ops) {
            size_t index = 0;
            while (index < codes.size() && codes[index] != o.code) ++index;
            if (index == codes.size()) codes.push_back(o.code);
            os.push_back(tfl::CreateOperatorDirect(fbb, static_cast<uint32_t>(index), &o.inputs, &o.outputs, o.options_type,
                                                   o.options));
        }
        std::vector<flatbuffers::Offset<tfl::OperatorCode>> ocs;
        for (int32_t c : codes) {
            ocs.push_back(tfl::CreateOperatorCode(fbb, static_cast<int8_t>(c < 127 ? c : 127), 0, 1, c));
        }
        std::vector<flatbuffers::Offset<tfl::SubGraph>> sgs{
            tfl::CreateSubGraphDirect(fbb, &ts, &inputs, &outputs, &os, "main")};
        auto model = tfl::CreateModelDirect(fbb, version, &ocs, &sgs, "tern test", &buffers);
        tfl::FinishModelBuffer(fbb, model);
        return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
    }
};

inline std::string save_bytes(const std::string& bytes, const std::string& path) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
}

// A 1x6x6x2 NHWC input through CONV_2D (3x3, SAME, stride 2, fused RELU6), DEPTHWISE_CONV_2D
// (multiplier 2, VALID), PAD (channels), ADD of a per-channel constant, AVERAGE_POOL_2D,
// MEAN over H and W, FULLY_CONNECTED and SOFTMAX: most of the float ops the importer maps.
inline std::string small_tflite_net() {
    TfliteFile f;
    auto wave = [](size_t n, float scale, float phase) {
        std::vector<float> v(n);
        for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>(std::sin(0.7 * static_cast<double>(i) + phase));
        return v;
    };
    const int x = f.tensor("x", {1, 6, 6, 2});
    const int w1 = f.floats("conv_w", {3, 3, 3, 2}, wave(54, 0.5f, 0.1f));
    const int b1 = f.floats("conv_b", {3}, {0.1f, -0.2f, 0.3f});
    const int c1 = f.tensor("conv", {1, 3, 3, 3});
    f.op(3, {x, w1, b1}, {c1}, tfl::BuiltinOptions::Conv2DOptions,
         tfl::CreateConv2DOptions(f.fbb, tfl::Padding::SAME, 2, 2, tfl::ActivationFunctionType::RELU6));
    const int w2 = f.floats("dw_w", {1, 2, 2, 6}, wave(24, 0.8f, 0.5f));
    const int b2 = f.floats("dw_b", {6}, wave(6, 0.1f, 0.0f));
    const int c2 = f.tensor("dw", {1, 2, 2, 6});
    f.op(4, {c1, w2, b2}, {c2}, tfl::BuiltinOptions::DepthwiseConv2DOptions,
         tfl::CreateDepthwiseConv2DOptions(f.fbb, tfl::Padding::VALID, 1, 1, 2, tfl::ActivationFunctionType::NONE));
    const int pads = f.ints("pads", {4, 2}, {0, 0, 0, 0, 0, 0, 0, 2});
    const int p = f.tensor("padded", {1, 2, 2, 8});
    f.op(34, {c2, pads}, {p});
    const int bias = f.floats("bias", {8}, wave(8, 0.3f, 1.0f));
    const int a = f.tensor("added", {1, 2, 2, 8});
    f.op(0, {p, bias}, {a}, tfl::BuiltinOptions::AddOptions, tfl::CreateAddOptions(f.fbb, tfl::ActivationFunctionType::RELU));
    const int ap = f.tensor("avg", {1, 1, 1, 8});
    f.op(1, {a}, {ap}, tfl::BuiltinOptions::Pool2DOptions,
         tfl::CreatePool2DOptions(f.fbb, tfl::Padding::VALID, 2, 2, 2, 2));
    const int axes = f.ints("axes", {2}, {1, 2});
    const int m = f.tensor("mean", {1, 8});
    f.op(40, {a, axes}, {m}, tfl::BuiltinOptions::ReducerOptions, tfl::CreateReducerOptions(f.fbb, false));
    const int fw = f.floats("fc_w", {4, 8}, wave(32, 0.4f, 2.0f));
    const int fb_ = f.floats("fc_b", {4}, {0.f, 0.1f, 0.2f, 0.3f});
    const int fc = f.tensor("fc", {1, 4});
    f.op(9, {m, fw, fb_}, {fc}, tfl::BuiltinOptions::FullyConnectedOptions, tfl::CreateFullyConnectedOptions(f.fbb));
    const int sm = f.tensor("probs", {1, 4});
    f.op(25, {fc}, {sm}, tfl::BuiltinOptions::SoftmaxOptions, tfl::CreateSoftmaxOptions(f.fbb, 1.f));
    return f.finish({x}, {sm, ap});
}

}  // namespace tern::testgraph
