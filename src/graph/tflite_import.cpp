#include "graph/tflite_import.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "core/error.h"
#include "core/read_file.h"
#include "graph/shape_inference.h"
#include "graph/tflite_builder.h"

namespace tern::graph {

using namespace tflite_detail;

namespace {

// The IR's ONNX semantics the importer emits (Clip bounds and Pad pads as inputs, Softmax on one axis).
constexpr int64_t kIrOpset = 13;
// Limits on declared sizes: no real model comes near them, and they keep shape arithmetic in int64.
constexpr int64_t kMaxTensorElements = int64_t{1} << 40;
constexpr flatbuffers::uoffset_t kMaxVerifierDepth = 64, kMaxVerifierTables = 10'000'000;

std::optional<DType> plain_dtype(fb::TensorType t) {
    switch (t) {
        case fb::TensorType::FLOAT32: return DType::f32;
        case fb::TensorType::FLOAT16: return DType::f16;
        case fb::TensorType::INT32: return DType::i32;
        case fb::TensorType::INT64: return DType::i64;
        default: return std::nullopt;
    }
}

bool is_quantized_type(fb::TensorType t) {
    return t == fb::TensorType::INT8 || t == fb::TensorType::UINT8 || t == fb::TensorType::INT16 ||
           t == fb::TensorType::INT4;
}

// The subgraph's tensors, each checked against the file: shape, type, and the size of its data.
std::vector<TensorSlot> read_tensors(const fb::Model& model, const fb::SubGraph& sg, const std::string& where) {
    const size_t buffer_count = model.buffers() ? model.buffers()->size() : 0;
    std::vector<TensorSlot> slots;
    std::map<std::string, int> seen;
    const auto* tensors = sg.tensors();
    const size_t count = tensors ? tensors->size() : 0;
    for (size_t i = 0; i < count; ++i) {
        const fb::Tensor* t = tensors->Get(static_cast<flatbuffers::uoffset_t>(i));
        TensorSlot s;
        s.name = t->name() && t->name()->size() > 0 ? t->name()->str() : "tensor_" + std::to_string(i);
        if (seen.count(s.name) || s.name.find('#') != std::string::npos) s.name += "#" + std::to_string(i);
        seen[s.name] = static_cast<int>(i);
        const std::string what = format("tensor %zu ('%s')", i, s.name.c_str());
        int64_t numel = 1;
        if (t->shape()) {
            for (int32_t d : *t->shape()) {
                if (d < 0) throw InputError(where, format("%s declares dim %d", what.c_str(), d));
                s.shape.push_back(d);
                numel = d == 0 ? 0 : numel;
                if (numel > 0 && d > kMaxTensorElements / numel) {
                    throw InputError(where, what + " declares shape " + shape_to_string(s.shape) + "..., over 2^40 elements");
                }
                numel *= d;
            }
        }
        s.type = t->type();
        if (is_quantized_type(s.type)) {
            throw InputError(where, what + " has type " + fb::EnumNameTensorType(s.type) +
                                        ": int8-quantized TFLite models are not supported yet (only float32 ones)");
        }
        const std::optional<DType> dtype = plain_dtype(s.type);
        if (!dtype) {
            const char* name = fb::EnumNameTensorType(s.type);
            throw InputError(where, what + " has type " + (*name ? std::string(name) : std::to_string(static_cast<int>(s.type))) +
                                        ", which tern does not run");
        }
        if (t->sparsity()) throw InputError(where, what + " is sparse, which tern does not read yet");
        if (t->buffer() >= buffer_count && t->buffer() != 0) {
            throw InputError(where, format("%s uses buffer %u, but the model has %zu buffers", what.c_str(), t->buffer(), buffer_count));
        }
        const fb::Buffer* buf = t->buffer() < buffer_count ? model.buffers()->Get(t->buffer()) : nullptr;
        if (buf && buf->offset() > 1) {
            throw InputError(where, what + " keeps its data outside the flatbuffer (offset/size), which tern does not read yet");
        }
        if (buf && buf->data() && buf->data()->size() > 0) {
            const size_t want = dtype_bytes_for(*dtype, static_cast<uint64_t>(numel));
            if (buf->data()->size() != want) {
                throw InputError(where, format("%s has shape %s (%zu bytes of %s) but its buffer %u holds %u bytes", what.c_str(),
                                               shape_to_string(s.shape).c_str(), want, std::string(dtype_name(*dtype)).c_str(),
                                               t->buffer(), buf->data()->size()));
            }
            s.constant = Tensor::empty(s.shape, *dtype);
            std::memcpy(s.constant.raw_data(), buf->data()->data(), want);
        }
        slots.push_back(std::move(s));
    }
    return slots;
}

int checked_index(int32_t t, size_t count, const std::string& where, const char* what) {
    if (t < 0 || static_cast<size_t>(t) >= count) {
        throw InputError(where, format("%s refers to tensor %d, but the subgraph has %zu tensors", what, t, count));
    }
    return t;
}

// TFLite files declare every tensor's shape: one the mapped ops do not produce is a broken file (or a
// mapping bug), refused here rather than run. Shapes inference leaves unknown (Reshape, Pad) take the declared one.
void check_declared_shapes(Graph& g, Builder& b, const std::string& where) {
    for (size_t i = 0; i < b.tensor_count(); ++i) {
        const TensorSlot& s = b.slot(static_cast<int>(i));
        if (s.shape.empty() && !s.constant.defined()) continue;  // rank not declared
        for (const bool nchw : {false, true}) {
            if (!(nchw ? s.has_nchw : s.has_plain)) continue;
            ValueInfo& v = g.values[nchw ? s.name + "#nchw" : s.name];
            Shape declared = s.shape;
            if (nchw) {
                for (size_t d = 0; d < 4; ++d) declared[d] = s.shape[static_cast<size_t>(kToNchw[d])];
            }
            bool known = v.shape.has_value();
            for (int64_t d : v.shape.value_or(Shape{})) known = known && d >= 0;
            if (known && *v.shape != declared) {
                throw InputError(where, "tensor '" + s.name + "' declares shape " + shape_to_string(s.shape) + ", but its operator makes " +
                                            shape_to_string(*v.shape) + (nchw ? " (NCHW)" : ""));
            }
            if (!v.shape) v.shape = declared;
            if (!v.dtype) v.dtype = plain_dtype(s.type);
        }
    }
}

}  // namespace

bool has_tflite_identifier(const void* data, size_t size) {
    return size >= 8 && fb::ModelBufferHasIdentifier(data);
}

Graph import_tflite_bytes(const void* data, size_t size, const std::string& where) {
    if (!has_tflite_identifier(data, size)) throw InputError(where, "not a TFLite model (no 'TFL3' file identifier at byte 4)");
    if (size >= FLATBUFFERS_MAX_BUFFER_SIZE) throw InputError(where, "file is 2 GiB or more, over the FlatBuffers limit");
    // Flatbuffer scalars are read in place: give them an 8-byte aligned copy, whatever the caller's buffer.
    std::unique_ptr<uint64_t[]> aligned(new uint64_t[(size + 7) / 8]);
    std::memcpy(aligned.get(), data, size);
    const auto* bytes = reinterpret_cast<const uint8_t*>(aligned.get());
    flatbuffers::Verifier verifier(bytes, size, kMaxVerifierDepth, kMaxVerifierTables);
    if (!fb::VerifyModelBuffer(verifier)) {
        throw InputError(where, "malformed TFLite file: the FlatBuffers verifier rejects it (truncated or corrupt)");
    }
    const fb::Model& model = *fb::GetModel(bytes);
    if (model.version() != 3) throw InputError(where, format("TFLite schema version %u; tern reads version 3", model.version()));
    if (!model.subgraphs() || model.subgraphs()->size() == 0) throw InputError(where, "the model has no subgraph");
    const fb::SubGraph& sg = *model.subgraphs()->Get(0);
    const size_t op_code_count = model.operator_codes() ? model.operator_codes()->size() : 0;

    Graph g;
    g.opset = kIrOpset;
    g.name = sg.name() ? sg.name()->str() : (model.description() ? model.description()->str() : "");
    std::vector<TensorSlot> slots = read_tensors(model, sg, where);
    const size_t tensor_count = slots.size();
    if (sg.inputs()) {
        for (int32_t t : *sg.inputs()) {
            TensorSlot& s = slots[checked_index(t, tensor_count, where, "a subgraph input")];
            if (s.has_plain) throw InputError(where, "tensor '" + s.name + "' is listed twice as a subgraph input");
            if (s.type != fb::TensorType::FLOAT32 && s.type != fb::TensorType::INT32 && s.type != fb::TensorType::INT64) {
                throw InputError(where, "input '" + s.name + "' is " + fb::EnumNameTensorType(s.type) + "; tern feeds float32 and int inputs");
            }
            s.constant = Tensor();  // an input with default data is still fed at run time
            s.has_plain = true;
            g.inputs.push_back(s.name);
            g.values[s.name] = ValueInfo{s.shape, plain_dtype(s.type)};
        }
    }
    Builder b(g, std::move(slots), where);
    const auto* ops = sg.operators();
    for (size_t i = 0; ops && i < ops->size(); ++i) {
        const fb::Operator& op = *ops->Get(static_cast<flatbuffers::uoffset_t>(i));
        if (op.opcode_index() >= op_code_count) {
            throw InputError(where, format("operator %zu uses operator code %u, but the model has %zu", i, op.opcode_index(), op_code_count));
        }
        const fb::OperatorCode& oc = *model.operator_codes()->Get(op.opcode_index());
        // Files keep codes < 127 in the old byte field; newer writers put larger codes in builtin_code only.
        const int32_t code = std::max<int32_t>(oc.deprecated_builtin_code(), oc.builtin_code());
        std::string name = builtin_op_name(code);
        if (code == 32) name = "CUSTOM '" + (oc.custom_code() ? oc.custom_code()->str() : std::string()) + "'";
        b.begin_operator(static_cast<int>(i), name, &op);
        map_operator(b, code);
    }
    if (sg.outputs()) {
        for (int32_t t : *sg.outputs()) {
            const int idx = checked_index(t, tensor_count, where, "a subgraph output");
            TensorSlot& s = b.slot(idx);
            if (!s.has_plain && !s.has_nchw && !s.constant.defined()) {
                throw InputError(where, "output '" + s.name + "' is written by no operator");
            }
            b.begin_operator(-1, "subgraph outputs", nullptr);
            g.outputs.push_back(b.plain(idx));
        }
    }
    try {
        infer_shapes(g);  // orders the graph first: a cycle is refused here too
    } catch (const InputError& e) {
        throw InputError(where, e.what());
    }
    check_declared_shapes(g, b, where);
    return g;
}

Graph import_tflite_file(const std::string& path) {
    const std::string bytes = read_whole_file(path);
    return import_tflite_bytes(bytes.data(), bytes.size(), path);
}

}  // namespace tern::graph
