#include "graph/onnx_tensor.h"

#include <climits>
#include <cstring>

#include "core/error.h"
#include "core/read_file.h"
#include "graph/onnx_proto.h"

namespace tern::graph {

using onnx::TensorProto;

std::optional<DType> dtype_from_onnx(int32_t t) {
    switch (t) {
        case TensorProto::FLOAT: return DType::f32;
        case TensorProto::UINT8: return DType::u8;
        case TensorProto::INT8: return DType::i8;
        case TensorProto::INT16: return DType::i16;
        case TensorProto::INT32: return DType::i32;
        case TensorProto::INT64: return DType::i64;
        case TensorProto::BOOL: return DType::boolean;
        case TensorProto::FLOAT16: return DType::f16;
        case TensorProto::DOUBLE: return DType::f64;
        case TensorProto::BFLOAT16: return DType::bf16;
        default: return std::nullopt;
    }
}

std::optional<int32_t> dtype_to_onnx(DType d) {
    switch (d) {
        case DType::f32: return TensorProto::FLOAT;
        case DType::u8: return TensorProto::UINT8;
        case DType::i8: return TensorProto::INT8;
        case DType::i16: return TensorProto::INT16;
        case DType::i32: return TensorProto::INT32;
        case DType::i64: return TensorProto::INT64;
        case DType::boolean: return TensorProto::BOOL;
        case DType::f16: return TensorProto::FLOAT16;
        case DType::f64: return TensorProto::DOUBLE;
        case DType::bf16: return TensorProto::BFLOAT16;
        default: return std::nullopt;
    }
}

const char* onnx_type_name(int32_t t) {
    return TensorProto::DataType_IsValid(t) ? TensorProto::DataType_Name(static_cast<TensorProto::DataType>(t)).c_str()
                                            : "invalid";
}

namespace {

// Copies a typed repeated field into the tensor, narrowing as ONNX stores
// small types (int8/int16/uint8/bool/float16 bits) in int32_data.
template <class Dst, class Field>
void copy_field(const Field& src, Tensor& out) {
    Dst* d = out.data<Dst>();
    for (int i = 0; i < src.size(); ++i) d[i] = static_cast<Dst>(src.Get(i));
}

}  // namespace

Tensor tensor_from_onnx(const TensorProto& t, const std::string& where) {
    const std::string name = t.name().empty() ? where : where + " tensor '" + t.name() + "'";
    if (t.data_location() == TensorProto::EXTERNAL) {
        std::string file;
        for (const auto& kv : t.external_data()) {
            if (kv.key() == "location") file = kv.value();
        }
        throw InputError(name, "data is stored outside the model (external data '" + file +
                                   "'); tern does not read external data yet");
    }
    const auto dtype = dtype_from_onnx(t.data_type());
    if (!dtype) throw InputError(name, std::string("element type ") + onnx_type_name(t.data_type()) + " is not supported");
    Shape shape(t.dims().begin(), t.dims().end());
    int64_t n = 0;
    try {
        n = shape_numel(shape);
    } catch (const InputError&) {
        throw InputError(name, "shape " + shape_to_string(shape) + " has a negative or overflowing dimension");
    }
    const size_t elem = dtype_info(*dtype).block_bytes;
    if (t.has_raw_data()) {
        // Checked before allocating, so a huge claimed shape is refused by the data it lacks.
        if (static_cast<uint64_t>(n) > t.raw_data().size() / elem || t.raw_data().size() != static_cast<size_t>(n) * elem) {
            throw InputError(name, format("shape %s of %s needs %llu bytes but raw_data holds %zu",
                                          shape_to_string(shape).c_str(), onnx_type_name(t.data_type()),
                                          static_cast<unsigned long long>(n) * elem, t.raw_data().size()));
        }
        Tensor out = Tensor::empty(shape, *dtype);
        if (n > 0) std::memcpy(out.raw_data(), t.raw_data().data(), t.raw_data().size());
        return out;
    }
    int64_t have = 0;
    switch (*dtype) {
        case DType::f32: have = t.float_data_size(); break;
        case DType::i64: have = t.int64_data_size(); break;
        case DType::f64: have = t.double_data_size(); break;
        default: have = t.int32_data_size(); break;
    }
    if (have != n) {
        throw InputError(name, format("shape %s needs %lld values but the tensor holds %lld",
                                      shape_to_string(shape).c_str(), static_cast<long long>(n),
                                      static_cast<long long>(have)));
    }
    Tensor out = Tensor::empty(shape, *dtype);
    if (n == 0) return out;
    switch (*dtype) {
        case DType::f32: copy_field<float>(t.float_data(), out); break;
        case DType::i64: copy_field<int64_t>(t.int64_data(), out); break;
        case DType::f64: copy_field<double>(t.double_data(), out); break;
        case DType::i32: copy_field<int32_t>(t.int32_data(), out); break;
        case DType::i16: copy_field<int16_t>(t.int32_data(), out); break;
        case DType::i8: copy_field<int8_t>(t.int32_data(), out); break;
        case DType::u8:
        case DType::boolean: copy_field<uint8_t>(t.int32_data(), out); break;
        case DType::f16:
        case DType::bf16: copy_field<uint16_t>(t.int32_data(), out); break;  // the bits, as ONNX stores them
        default: throw InputError(name, "element type is not supported");
    }
    return out;
}

void tensor_to_onnx(const Tensor& t, const std::string& name, const std::string& where, TensorProto& out) {
    const auto type = dtype_to_onnx(t.dtype());
    if (!type) {
        throw InputError(where, "tensor '" + name + "' has dtype " + std::string(dtype_name(t.dtype())) +
                                    ", which ONNX has no type for");
    }
    out.set_name(name);
    out.set_data_type(*type);
    for (int64_t d : t.shape()) out.add_dims(d);
    // x86 and every platform tern builds for are little-endian, as raw_data is.
    const Tensor c = t.contiguous();
    if (c.numel() > 0) out.set_raw_data(c.raw_data(), c.nbytes());
    else out.set_raw_data("");
}

Tensor read_onnx_tensor_file(const std::string& path) {
    const std::string bytes = read_whole_file(path);
    if (bytes.size() > static_cast<size_t>(INT_MAX)) throw InputError(path, "file is over 2 GiB, the protobuf limit");
    TensorProto t;
    if (!t.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        throw InputError(path, "not a serialized ONNX TensorProto (protobuf parse failed)");
    }
    return tensor_from_onnx(t, path);
}

}  // namespace tern::graph
