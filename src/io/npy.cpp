#include "io/npy.h"

#include <cstring>
#include <string_view>

#include "core/atomic_file_writer.h"
#include "core/error.h"
#include "core/read_file.h"

namespace tern {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

struct NpyType {
    const char* descr;  // without the byte-order character
    DType dtype;
};
constexpr NpyType kTypes[] = {
    {"f2", DType::f16}, {"f4", DType::f32}, {"f8", DType::f64}, {"i1", DType::i8},      {"i2", DType::i16},
    {"i4", DType::i32}, {"i8", DType::i64}, {"u1", DType::u8},  {"b1", DType::boolean},
};

// The text after `'key':` in the header dict, skipping spaces.
std::string_view value_of(std::string_view header, std::string_view key, const std::string& name) {
    const std::string quoted = "'" + std::string(key) + "'";
    size_t at = header.find(quoted);
    if (at == std::string_view::npos) throw InputError(name, "npy header has no '" + std::string(key) + "' entry");
    at = header.find(':', at + quoted.size());
    if (at == std::string_view::npos) throw InputError(name, "npy header entry '" + std::string(key) + "' has no value");
    ++at;
    while (at < header.size() && header[at] == ' ') ++at;
    return header.substr(at);
}

Shape parse_shape(std::string_view v, const std::string& name) {
    if (v.empty() || v[0] != '(') throw InputError(name, "npy header 'shape' is not a tuple");
    const size_t close = v.find(')');
    if (close == std::string_view::npos) throw InputError(name, "npy header 'shape' tuple is not closed");
    Shape shape;
    std::string_view body = v.substr(1, close - 1);
    size_t i = 0;
    while (i < body.size()) {
        while (i < body.size() && (body[i] == ' ' || body[i] == ',')) ++i;
        if (i >= body.size()) break;
        int64_t d = 0;
        size_t digits = 0;
        while (i < body.size() && body[i] >= '0' && body[i] <= '9') {
            if (d > (INT64_MAX - 9) / 10) throw InputError(name, "npy shape dim is too large");
            d = d * 10 + (body[i++] - '0');
            ++digits;
        }
        if (digits == 0) throw InputError(name, "npy header 'shape' holds something other than dims");
        shape.push_back(d);
        if (shape.size() > 32) throw InputError(name, "npy shape has more than 32 dims");
    }
    return shape;
}

}  // namespace

Tensor parse_npy(std::span<const uint8_t> bytes, const std::string& name) {
    if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
        throw InputError(name, "not a .npy file (no \\x93NUMPY magic)");
    }
    const int major = bytes[6];
    size_t header_len = 0, header_at = 0;
    if (major == 1) {
        header_len = bytes[8] | (bytes[9] << 8);
        header_at = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw InputError(name, "npy file ends inside its preamble");
        header_len = bytes[8] | (bytes[9] << 8) | (static_cast<size_t>(bytes[10]) << 16) | (static_cast<size_t>(bytes[11]) << 24);
        header_at = 12;
    } else {
        throw InputError(name, "npy format version " + std::to_string(major) + " is not 1, 2 or 3");
    }
    if (header_len > bytes.size() - header_at) throw InputError(name, "npy header runs past the end of the file");
    const std::string_view header(reinterpret_cast<const char*>(bytes.data() + header_at), header_len);

    const std::string_view descr_v = value_of(header, "descr", name);
    const size_t dq = descr_v.find('\'', 1);
    if (descr_v.size() < 2 || descr_v[0] != '\'' || dq == std::string_view::npos) {
        throw InputError(name, "npy header 'descr' is not a quoted type string");
    }
    const std::string descr(descr_v.substr(1, dq - 1));
    const DType* dtype = nullptr;
    if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=')) {
        for (const NpyType& t : kTypes) {
            if (descr.compare(1, 2, t.descr) == 0) dtype = &t.dtype;
        }
    }
    if (!dtype) throw InputError(name, "npy dtype '" + descr + "' is not supported (little-endian f2 f4 f8 i1 i2 i4 i8 u1 b1)");
    if (value_of(header, "fortran_order", name).substr(0, 5) != "False") {
        throw InputError(name, "npy array is in Fortran order; save it C-ordered (np.ascontiguousarray)");
    }
    const Shape shape = parse_shape(value_of(header, "shape", name), name);
    int64_t n = 0;
    try {
        n = shape_numel(shape);
    } catch (const InputError&) {
        throw InputError(name, "npy shape " + shape_to_string(shape) + " overflows");
    }
    const size_t elem = dtype_info(*dtype).block_bytes;
    const size_t data_at = header_at + header_len, have = bytes.size() - data_at;
    if (static_cast<uint64_t>(n) > have / elem || have != static_cast<size_t>(n) * elem) {
        throw InputError(name, format("npy shape %s of %s needs %llu data bytes, the file has %zu",
                                      shape_to_string(shape).c_str(), descr.c_str(),
                                      static_cast<unsigned long long>(n) * elem, have));
    }
    Tensor t = Tensor::empty(shape, *dtype);
    if (have > 0) std::memcpy(t.raw_data(), bytes.data() + data_at, have);
    return t;
}

Tensor read_npy(const std::string& path) {
    const std::string bytes = read_whole_file(path);
    return parse_npy(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), path);
}

void write_npy(const std::string& path, const Tensor& tensor) {
    const char* descr = nullptr;
    for (const NpyType& t : kTypes) {
        if (t.dtype == tensor.dtype()) descr = t.descr;
    }
    if (!descr) throw InputError(path, "cannot write dtype " + std::string(dtype_name(tensor.dtype())) + " as .npy");
    std::string shape = "(";
    for (int64_t d : tensor.shape()) shape += std::to_string(d) + ", ";
    if (tensor.rank() > 1) shape.resize(shape.size() - 2);
    if (tensor.rank() == 1) shape.resize(shape.size() - 1);
    shape += ")";
    const char order = tensor.dtype() == DType::u8 || tensor.dtype() == DType::i8 || tensor.dtype() == DType::boolean ? '|' : '<';
    std::string header = std::string("{'descr': '") + order + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    // Pad with spaces so the data starts 64-byte aligned, ending the header with '\n' (the format's rule).
    const size_t total = kMagic.size() + 4 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::string pre(kMagic);
    pre += '\x01';
    pre += '\x00';
    pre += static_cast<char>(header.size() & 0xff);
    pre += static_cast<char>(header.size() >> 8);
    const Tensor c = tensor.contiguous();
    AtomicFileWriter w(path);
    w.write(pre.data(), pre.size());
    w.write(header.data(), header.size());
    w.write(c.raw_data(), c.nbytes());
    w.commit();
}

}  // namespace tern
