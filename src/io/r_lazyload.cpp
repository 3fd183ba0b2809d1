#include "io/r_lazyload.h"

#include <zlib.h>

#include <cstring>
#include <optional>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/idx.h"

namespace tern {
namespace {

// SEXP type codes and the serializer's pseudo-types (R Internals, "Serialization Formats").
enum : int {
    kSymSxp = 1, kListSxp = 2, kCharSxp = 9, kLglSxp = 10, kIntSxp = 13, kRealSxp = 14,
    kStrSxp = 16, kVecSxp = 19, kExprSxp = 20, kRawSxp = 24,
    kBaseEnv = 241, kEmptyEnv = 242, kBaseNamespace = 250, kMissingArg = 251, kUnboundValue = 252,
    kGlobalEnv = 253, kNilValue = 254, kRefSxp = 255,
};
constexpr int kMaxDepth = 64;

struct RValue {
    int type = kNilValue;
    std::vector<int32_t> ints;                    // LGLSXP, INTSXP
    std::vector<double> reals;                    // REALSXP
    std::vector<std::optional<std::string>> strs;  // STRSXP (nullopt = NA)
    std::vector<RValue> items;                    // VECSXP / EXPRSXP
    std::string symbol;                           // SYMSXP
    std::vector<std::string> attr_names;          // attribute pairlist, flattened
    std::vector<RValue> attr_values;

    const RValue* attr(const std::string& name) const {
        for (size_t i = 0; i < attr_names.size(); ++i)
            if (attr_names[i] == name) return &attr_values[i];
        return nullptr;
    }
};

// Reads one XDR serialization stream; every length is checked against the
// bytes left before anything is reserved.
class XdrReader {
public:
    XdrReader(const std::vector<uint8_t>& bytes, std::string name) : b_(bytes), name_(std::move(name)) {}

    RValue read_top() {
        if (b_.size() < 2 || b_[0] != 'X' || b_[1] != '\n') fail("not an XDR-format R serialization (no \"X\\n\")");
        pos_ = 2;
        const int32_t version = read_int();
        read_int();  // R version that wrote it
        read_int();  // minimal R version to read it
        if (version == 3) {
            const int32_t n = read_int();  // native encoding name
            need(n, 1);
            pos_ += static_cast<size_t>(n);
        } else if (version != 2) {
            fail(format("serialization format version %d (only 2 and 3 are known)", version));
        }
        return read_item(0);
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw InputError(name_, what + format(" (at byte %zu)", pos_));
    }
    // `count` elements of at least `unit` bytes each must still fit.
    void need(int64_t count, size_t unit) const {
        if (count < 0 || static_cast<uint64_t>(count) > (b_.size() - pos_) / unit) {
            fail(format("length %lld runs past the end of the data", (long long)count));
        }
    }
    int32_t read_int() {
        need(1, 4);
        const uint8_t* p = b_.data() + pos_;
        pos_ += 4;
        return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]);
    }
    int64_t read_length() {
        const int32_t n = read_int();
        if (n >= 0) return n;
        if (n != -1) fail(format("negative length %d", n));
        const int64_t hi = read_int(), lo = static_cast<uint32_t>(read_int());
        return (hi << 32) | lo;  // checked by need() before use
    }
    std::optional<std::string> read_charsxp_body() {
        const int32_t n = read_int();
        if (n == -1) return std::nullopt;  // NA_STRING
        need(n, 1);
        std::string s(reinterpret_cast<const char*>(b_.data() + pos_), static_cast<size_t>(n));
        pos_ += static_cast<size_t>(n);
        return s;
    }

    RValue read_item(int depth) {
        if (depth > kMaxDepth) fail("objects nested too deeply");
        const int32_t flags = read_int();
        const int type = flags & 0xff;
        const bool has_attr = flags & (1 << 9);
        const bool has_tag = flags & (1 << 10);
        RValue v;
        v.type = type;
        switch (type) {
            case kNilValue: case kGlobalEnv: case kEmptyEnv: case kBaseEnv: case kMissingArg:
            case kUnboundValue: case kBaseNamespace:
                return v;
            case kRefSxp: {
                int64_t index = static_cast<uint32_t>(flags) >> 8;
                if (index == 0) index = read_int();
                if (index < 1 || index > static_cast<int64_t>(refs_.size())) fail(format("bad reference %lld", (long long)index));
                return refs_[static_cast<size_t>(index - 1)];
            }
            case kSymSxp: {
                const RValue name = read_item(depth + 1);
                if (name.type != kCharSxp || name.strs.empty() || !name.strs[0]) fail("symbol without a name");
                v.symbol = *name.strs[0];
                refs_.push_back(v);
                return v;
            }
            case kCharSxp:
                v.strs.push_back(read_charsxp_body());
                return v;
            case kListSxp:
                read_pairlist(flags, depth, v);
                return v;
            case kLglSxp: case kIntSxp: {
                const int64_t n = read_length();
                need(n, 4);
                v.ints.resize(static_cast<size_t>(n));
                for (auto& x : v.ints) x = read_int();
                break;
            }
            case kRealSxp: {
                const int64_t n = read_length();
                need(n, 8);
                v.reals.resize(static_cast<size_t>(n));
                for (auto& x : v.reals) {
                    const uint64_t hi = static_cast<uint32_t>(read_int()), lo = static_cast<uint32_t>(read_int());
                    const uint64_t bits = (hi << 32) | lo;
                    std::memcpy(&x, &bits, 8);
                }
                break;
            }
            case kStrSxp: {
                const int64_t n = read_length();
                need(n, 8);  // each element is a CHARSXP: flags + length at least
                v.strs.reserve(static_cast<size_t>(n));
                for (int64_t i = 0; i < n; ++i) {
                    const int32_t f = read_int();
                    if ((f & 0xff) != kCharSxp) fail(format("element %lld of a character vector is type %d", (long long)i, f & 0xff));
                    v.strs.push_back(read_charsxp_body());
                }
                break;
            }
            case kVecSxp: case kExprSxp: {
                const int64_t n = read_length();
                need(n, 4);
                v.items.reserve(static_cast<size_t>(n));
                for (int64_t i = 0; i < n; ++i) v.items.push_back(read_item(depth + 1));
                break;
            }
            case kRawSxp: {
                const int64_t n = read_length();
                need(n, 1);
                pos_ += static_cast<size_t>(n);
                break;
            }
            default:
                fail(format("R object type %d is not supported (only data vectors are)", type));
        }
        (void)has_tag;
        if (has_attr) read_attributes(depth, v);
        return v;
    }

    // A pairlist node chain: (attr?) (tag?) car, then cdr as the next node.
    void read_pairlist(int32_t flags, int depth, RValue& out) {
        while (true) {
            if (flags & (1 << 9)) read_item(depth + 1);  // attributes of the node itself: unused
            std::string tag;
            if (flags & (1 << 10)) tag = read_item(depth + 1).symbol;
            out.attr_names.push_back(tag);
            out.attr_values.push_back(read_item(depth + 1));
            flags = read_int();
            const int type = flags & 0xff;
            if (type == kNilValue) return;
            if (type != kListSxp) fail(format("pairlist continues with type %d", type));
        }
    }
    void read_attributes(int depth, RValue& v) {
        RValue attrs = read_item(depth + 1);
        if (attrs.type != kListSxp) fail("attributes are not a pairlist");
        v.attr_names = std::move(attrs.attr_names);
        v.attr_values = std::move(attrs.attr_values);
    }

    const std::vector<uint8_t>& b_;
    std::string name_;
    size_t pos_ = 0;
    std::vector<RValue> refs_;
};

// One .rdb record: 4-byte big-endian uncompressed size, then a zlib stream.
std::vector<uint8_t> inflate_record(const uint8_t* p, size_t n, const std::string& where) {
    if (n < 4) throw InputError(where, "record shorter than its 4-byte size prefix");
    const uint64_t size = (uint64_t{p[0]} << 24) | (uint64_t{p[1]} << 16) | (uint64_t{p[2]} << 8) | p[3];
    // zlib's best ratio is about 1032:1, so a larger claim is a lie: refuse before allocating.
    if (size > (n - 4) * 1100 + 1024) throw InputError(where, format("record claims %llu bytes from %zu compressed",
                                                                     (unsigned long long)size, n - 4));
    std::vector<uint8_t> out(static_cast<size_t>(size));
    uLongf out_len = static_cast<uLongf>(size);
    const int rc = uncompress(out.data(), &out_len, p + 4, static_cast<uLong>(n - 4));
    if (rc != Z_OK || out_len != size) throw InputError(where, "corrupt zlib record");
    return out;
}

}  // namespace

std::vector<std::string> parse_r_serialized_strings(const std::vector<uint8_t>& bytes, const std::string& where) {
    const RValue v = XdrReader(bytes, where).read_top();
    std::vector<std::string> out;
    if (v.type != kStrSxp) return out;
    out.reserve(v.strs.size());
    for (const auto& s : v.strs) out.push_back(s.value_or(""));
    return out;
}

std::vector<RStringVariable> read_r_lazyload_strings(const std::string& base_path) {
    const std::string rdx_path = base_path + ".rdx", rdb_path = base_path + ".rdb";
    const RValue index = XdrReader(read_file_maybe_gzip(rdx_path, 64 << 20), rdx_path).read_top();
    const RValue* names = index.attr("names");
    if (index.type != kVecSxp || !names) throw InputError(rdx_path, "index is not a named list");
    const RValue* variables = nullptr;
    const RValue* compressed = nullptr;
    for (size_t i = 0; i < names->strs.size() && i < index.items.size(); ++i) {
        if (names->strs[i] == "variables") variables = &index.items[i];
        if (names->strs[i] == "compressed") compressed = &index.items[i];
    }
    if (!variables || variables->type != kVecSxp) throw InputError(rdx_path, "index has no 'variables' list");
    // TRUE or 1 means zlib; 2 (bzip2) and 3 (xz) are not supported.
    const bool zlib = compressed && ((!compressed->ints.empty() && compressed->ints[0] == 1) ||
                                     (!compressed->reals.empty() && compressed->reals[0] == 1.0));
    if (!zlib) throw InputError(rdx_path, "only zlib-compressed lazy-load databases are supported");
    const RValue* var_names = variables->attr("names");
    if (!var_names || var_names->strs.size() != variables->items.size()) {
        throw InputError(rdx_path, "'variables' has no names");
    }

    auto rdb = MappedFile::open(rdb_path);
    std::vector<RStringVariable> out;
    for (size_t i = 0; i < variables->items.size(); ++i) {
        const RValue& loc = variables->items[i];
        const std::string name = var_names->strs[i].value_or("");
        const std::string where = rdb_path + ": " + name;
        if (loc.ints.size() != 2 || loc.ints[0] < 0 || loc.ints[1] < 0 ||
            static_cast<uint64_t>(loc.ints[0]) + static_cast<uint64_t>(loc.ints[1]) > rdb->size()) {
            throw InputError(where, "record lies outside the file");
        }
        const std::vector<uint8_t> bytes = inflate_record(rdb->data() + loc.ints[0], static_cast<size_t>(loc.ints[1]), where);
        const RValue v = XdrReader(bytes, where).read_top();
        if (v.type != kStrSxp) continue;
        RStringVariable var{name, {}};
        var.values.reserve(v.strs.size());
        for (const auto& s : v.strs) var.values.push_back(s.value_or(""));
        out.push_back(std::move(var));
    }
    return out;
}

}  // namespace tern
