// Load-time repack of GGUF / int4 rows into 16-row tiles (layout.h), and the
// inverse for tests. Runs once per weight matrix, so it is portable scalar code,
// but it works on 8 (or 4) codes per integer operation ("SWAR"): code fields
// never cross a byte, so a shift of a whole word followed by a per-byte mask
// moves every byte's field at once. One element at a time, the repack was most of
// a K-quant model's load time (bench/RESULTS_llm.md, "Load time").
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <new>
#include <string>

#include "core/error.h"
#include "core/half.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "formats/gguf_blocks.h"
#include "kernels/quant_matmul/int4_asym.h"
#include "kernels/quant_matmul/layout.h"

namespace tern {

using namespace qmm;

namespace {

// Every byte of a word equal to b.
constexpr uint64_t bytes_of(uint8_t b) { return 0x0101010101010101ull * b; }
uint64_t ld64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
void st64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t ld32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
void st32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
// out[j] = (in[j] >> shift) & mask for j < n (a multiple of 8), shift < 8.
void bits_of_bytes(const uint8_t* in, uint8_t* out, int n, int shift, uint8_t mask) {
    for (int j = 0; j < n; j += 8) st64(out + j, (ld64(in + j) >> shift) & bytes_of(mask));
}
// out[j] |= ((in[j] >> shift) & mask) << to for j < n (a multiple of 8).
void or_bits_of_bytes(const uint8_t* in, uint8_t* out, int n, int shift, uint8_t mask, int to) {
    for (int j = 0; j < n; j += 8) st64(out + j, ld64(out + j) | (((ld64(in + j) >> shift) & bytes_of(mask)) << to));
}

// Byte i of the result = bit i of `bits` (0 or 1).
uint64_t bits_to_bytes(uint8_t bits) {
    // Byte i keeps bit i of its copy; adding 0x7F carries into bit 7 exactly when
    // that bit was set (a byte's value is at most 0x80, so nothing crosses bytes).
    const uint64_t x = (bits * bytes_of(1)) & 0x8040201008040201ull;
    return ((x + bytes_of(0x7F)) >> 7) & bytes_of(1);
}
// Bytes 0..3 of x to bytes 0, 2, 4, 6 of the result (the others zero).
uint64_t bytes_to_even_bytes(uint32_t x) {
    uint64_t y = x;
    y = (y | (y << 16)) & 0x0000FFFF0000FFFFull;
    return (y | (y << 8)) & 0x00FF00FF00FF00FFull;
}

// One source unit (legacy group / int4 group / K super-block) of one row,
// decoded to unsigned codes and scale fields.
struct Unit {
    uint8_t u[256];
    uint16_t d = 0, dmin = 0;  // fp16 bits: d, and m (q4_1/q5_1) or Dmin (K asym)
    uint8_t z = 0;             // int4 zero point
    int8_t sc[16] = {}, mn[16] = {};
};

int q3_scale(const uint8_t* s, int j) {
    const int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
    const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

// Element order of each format follows its ggml dequantizer.
// Templated on the type so each pack loop has its layout's constants inlined.
template <QuantType t>
void read_unit(const uint8_t* p, int group, Unit& o) {
    switch (t) {
        case QuantType::q4_0:
        case QuantType::q4_1: {
            const uint8_t* qs = t == QuantType::q4_0 ? reinterpret_cast<const BlockQ4_0*>(p)->qs
                                                     : reinterpret_cast<const BlockQ4_1*>(p)->qs;
            std::memcpy(&o.d, p, 2);
            if (t == QuantType::q4_1) std::memcpy(&o.dmin, p + 2, 2);
            bits_of_bytes(qs, o.u, 16, 0, 15);
            bits_of_bytes(qs, o.u + 16, 16, 4, 15);
            return;
        }
        case QuantType::q5_0:
        case QuantType::q5_1: {
            const bool one = t == QuantType::q5_1;
            const uint8_t* qh = one ? reinterpret_cast<const BlockQ5_1*>(p)->qh : reinterpret_cast<const BlockQ5_0*>(p)->qh;
            const uint8_t* qs = one ? reinterpret_cast<const BlockQ5_1*>(p)->qs : reinterpret_cast<const BlockQ5_0*>(p)->qs;
            std::memcpy(&o.d, p, 2);
            if (one) std::memcpy(&o.dmin, p + 2, 2);
            bits_of_bytes(qs, o.u, 16, 0, 15);
            bits_of_bytes(qs, o.u + 16, 16, 4, 15);
            const uint32_t h = ld32(qh);  // bit j: code j's fifth bit
            for (int j = 0; j < 32; j += 8)
                st64(o.u + j, ld64(o.u + j) | (bits_to_bytes(static_cast<uint8_t>(h >> j)) << 4));
            return;
        }
        case QuantType::q8_0: {
            const auto* b = reinterpret_cast<const BlockQ8_0*>(p);
            o.d = b->d;
            // Biased to unsigned so vpdpbusd can take it; the kernel subtracts 128·sum(a).
            const auto* qs = reinterpret_cast<const uint8_t*>(b->qs);
            for (int j = 0; j < 32; j += 8) st64(o.u + j, ld64(qs + j) ^ bytes_of(0x80));  // + 128 in every byte
            return;
        }
        case QuantType::int4_asym: {
            std::memcpy(&o.d, p, 2);
            o.z = p[2];
            // Code j is nibble j % 2 of byte j / 2: low and high nibbles interleaved.
            for (int j = 0; j < group; j += 8) {
                const uint32_t b = ld32(p + 3 + j / 2);
                st64(o.u + j, bytes_to_even_bytes(b & 0x0F0F0F0Fu) | (bytes_to_even_bytes((b >> 4) & 0x0F0F0F0Fu) << 8));
            }
            return;
        }
        case QuantType::q2_k: {
            const auto* b = reinterpret_cast<const BlockQ2_K*>(p);
            o.d = b->d;
            o.dmin = b->dmin;
            for (int s = 0; s < 16; ++s) {
                o.sc[s] = static_cast<int8_t>(b->scales[s] & 15);
                o.mn[s] = static_cast<int8_t>(b->scales[s] >> 4);
            }
            // Element 128n + 32j + l: bits 2j of qs[32n + l].
            for (int n = 0; n < 2; ++n)
                for (int j = 0; j < 4; ++j) bits_of_bytes(b->qs + 32 * n, o.u + 128 * n + 32 * j, 32, 2 * j, 3);
            return;
        }
        case QuantType::q3_k: {
            const auto* b = reinterpret_cast<const BlockQ3_K*>(p);
            o.d = b->d;
            for (int s = 0; s < 16; ++s) o.sc[s] = static_cast<int8_t>(q3_scale(b->scales, s));
            // Element 128n + 32j + l: bits 2j of qs[32n + l], bit 4n + j of hmask[l] (value = u - 4).
            for (int n = 0; n < 2; ++n)
                for (int j = 0; j < 4; ++j) {
                    uint8_t* u = o.u + 128 * n + 32 * j;
                    bits_of_bytes(b->qs + 32 * n, u, 32, 2 * j, 3);
                    or_bits_of_bytes(b->hmask, u, 32, 4 * n + j, 1, 2);
                }
            return;
        }
        case QuantType::q4_k:
        case QuantType::q5_k: {
            const bool five = t == QuantType::q5_k;
            const uint8_t* scales = five ? reinterpret_cast<const BlockQ5_K*>(p)->scales
                                         : reinterpret_cast<const BlockQ4_K*>(p)->scales;
            const uint8_t* qs = five ? reinterpret_cast<const BlockQ5_K*>(p)->qs : reinterpret_cast<const BlockQ4_K*>(p)->qs;
            std::memcpy(&o.d, p, 2);
            std::memcpy(&o.dmin, p + 2, 2);
            for (int s = 0; s < 8; ++s) {
                uint8_t sc, m;
                unpack_scale_min_k4(s, scales, &sc, &m);
                o.sc[s] = static_cast<int8_t>(sc);
                o.mn[s] = static_cast<int8_t>(m);
            }
            // Element 64c + 32h + l: nibble h of qs[32c + l]; q5_K's fifth bit is bit
            // (64c + 32h) / 32 of qh[l].
            for (int c = 0; c < 4; ++c)
                for (int h = 0; h < 2; ++h) {
                    uint8_t* u = o.u + 64 * c + 32 * h;
                    bits_of_bytes(qs + 32 * c, u, 32, 4 * h, 15);
                    if (five) or_bits_of_bytes(reinterpret_cast<const BlockQ5_K*>(p)->qh, u, 32, 2 * c + h, 1, 4);
                }
            return;
        }
        case QuantType::q6_k: {
            const auto* b = reinterpret_cast<const BlockQ6_K*>(p);
            o.d = b->d;
            for (int s = 0; s < 16; ++s) o.sc[s] = b->scales[s];
            // Element 128n + 32q + l: nibble q / 2 of ql[64n + 32 (q % 2) + l], bits 2q of
            // qh[32n + l] (value = u - 32).
            for (int n = 0; n < 2; ++n)
                for (int q = 0; q < 4; ++q) {
                    uint8_t* u = o.u + 128 * n + 32 * q;
                    bits_of_bytes(b->ql + 64 * n + 32 * (q & 1), u, 32, 4 * (q >> 1), 15);
                    or_bits_of_bytes(b->qh + 32 * n, u, 32, 2 * q, 3, 4);
                }
            return;
        }
        case QuantType::count_: break;
    }
}

void put_u16(uint8_t* base, int n, uint16_t v) { std::memcpy(base + 2 * n, &v, 2); }
uint16_t get_u16(const uint8_t* base, int n) {
    uint16_t v;
    std::memcpy(&v, base + 2 * n, 2);
    return v;
}

// Writes row n (0..15) of unit `o` into the tile unit at `dst` (zeroed before).
template <QuantType T>
void write_unit(int group, const Unit& o, int n, uint8_t* dst) {
    constexpr Layout l = layout_of(T);
    const int elems = is_k(l.corr) ? 256 : group;
    put_u16(dst, n, o.d);
    int h = 32;
    if (l.corr == Corr::zero_point) {
        dst[h + n] = o.z;
        h += 16;
    } else if (l.corr == Corr::min_f16 || l.corr == Corr::k_asym) {
        put_u16(dst + h, n, o.dmin);
        h += 32;
    }
    if (is_k(l.corr)) {
        for (int s = 0; s < 256 / l.sub; ++s) put_k_scale_min(l, dst, n, s, o.sc[s], o.mn[s]);
        h = header_bytes(l);
    }
    // Quad q (codes 4q..4q+3) is field q / lo of low plane q % lo (layout.h): the
    // row's 4 bytes of plane p OR the quads p, p + lo, … each shifted to its field.
    // A field never leaves its byte, so one 32-bit word carries the 4 codes.
    const uint32_t lo_mask = static_cast<uint32_t>(bytes_of(static_cast<uint8_t>((1 << l.lo) - 1)));
    const uint32_t hi_mask = static_cast<uint32_t>(bytes_of(static_cast<uint8_t>((1 << l.hi) - 1)));
    for (int e0 = 0; e0 < elems; e0 += 32) {
        uint8_t* chunk = dst + h + (e0 / 32) * chunk_bytes(l) + n * 4;
        const uint8_t* u = o.u + e0;
        if constexpr (l.whole6) {  // layout.h: quads 0-3 whole, 4-7 split
            for (int p = 0; p < 4; ++p)
                st32(chunk + p * 64, (ld32(u + 4 * p) & 0x3F3F3F3Fu) | (((ld32(u + 4 * (p + 4)) >> 4) & 0x03030303u) << 6));
            for (int m = 0; m < 2; ++m)
                st32(chunk + (4 + m) * 64, (ld32(u + 4 * (4 + m)) & 0x0F0F0F0Fu) | ((ld32(u + 4 * (6 + m)) & 0x0F0F0F0Fu) << 4));
            continue;
        }
        for (int p = 0; p < l.lo; ++p) {
            uint32_t word = 0;
            for (int f = 0; f * l.lo < 8; ++f) word |= (ld32(u + 4 * (p + f * l.lo)) & lo_mask) << (f * l.lo);
            st32(chunk + p * 64, word);
        }
        for (int p = 0; p < l.hi; ++p) {
            uint32_t word = 0;
            for (int f = 0; f * l.hi < 8; ++f) word |= ((ld32(u + 4 * (p + f * l.hi)) >> l.lo) & hi_mask) << (f * l.hi);
            st32(chunk + (l.lo + p) * 64, word);
        }
    }
}

// Tiles [t0, t1) of w from its source rows. Tiles are disjoint bytes, so the
// load-time repack of a model runs on every core; each thread zeroes its own
// tiles (write_unit ORs the scale fields in), so the first-touch page faults and
// zeroing of the fresh buffer are spread over the threads too.
template <QuantType T>
void pack_tiles(QuantMatrix& w, const uint8_t* src, int64_t t0, int64_t t1) {
    const int be = quant_block_elems(T, w.group), bb = quant_block_bytes(T, w.group);
    const int64_t units = w.k / be, ub = unit_bytes(layout_of(T), w.group);
    std::memset(w.data.get() + t0 * w.tile_bytes, 0, static_cast<size_t>((t1 - t0) * w.tile_bytes));
    Unit u;
    for (int64_t row = t0 * kQuantTileRows; row < std::min(w.n, t1 * kQuantTileRows); ++row) {
        uint8_t* tile = w.data.get() + (row / kQuantTileRows) * w.tile_bytes;
        for (int64_t b = 0; b < units; ++b) {
            read_unit<T>(src + (row * units + b) * bb, w.group, u);
            write_unit<T>(w.group, u, static_cast<int>(row % kQuantTileRows), tile + b * ub);
        }
    }
}

}  // namespace

void QuantMatrix::Free::operator()(uint8_t* p) const { aligned_free_bytes(p); }

const char* quant_type_name(QuantType t) {
    static const char* names[] = {"q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k",
                                  "q3_k", "q4_k", "q5_k", "q6_k", "int4_asym"};
    return static_cast<int>(t) < static_cast<int>(QuantType::count_) ? names[static_cast<int>(t)] : "?";
}

// The storage type table (core/storage_types.h) names the QuantType that runs each row.
std::optional<QuantKernelChoice> quant_kernel_for_dtype(DType t) {
    const StorageType& s = dtype_info(t);
    if (!s.has_kernel()) return std::nullopt;
    for (int q = 0; q < static_cast<int>(QuantType::count_); ++q)
        if (s.kernel == quant_type_name(static_cast<QuantType>(q))) return QuantKernelChoice{static_cast<QuantType>(q), s.kernel_group};
    return std::nullopt;
}

DType quant_type_dtype(QuantType t) {
    if (t == QuantType::int4_asym) return DType::count_;  // group-dependent: see quant_block_bytes
    for (const StorageType& s : kStorageTypes)
        if (s.kernel == quant_type_name(t)) return s.dtype;
    return DType::count_;
}

bool is_k_quant(QuantType t) { return is_k(layout_of(t).corr); }

int quant_block_elems(QuantType t, int group) {
    if (t == QuantType::int4_asym) return group;
    return static_cast<int>(dtype_info(quant_type_dtype(t)).block_size);
}

int quant_block_bytes(QuantType t, int group) {
    if (t == QuantType::int4_asym) return int4_asym_block_bytes(group);
    return static_cast<int>(dtype_info(quant_type_dtype(t)).block_bytes);
}

uint64_t QuantMatrix::source_bytes() const {
    return static_cast<uint64_t>(n) * static_cast<uint64_t>(k / quant_block_elems(type, group)) *
           static_cast<uint64_t>(quant_block_bytes(type, group));
}

QuantMatrix pack_quant_matrix(QuantType type, const void* blocks, int64_t n, int64_t k, int group) {
    if (type != QuantType::int4_asym) group = quant_block_elems(type, 32);
    if (type == QuantType::int4_asym && group != 32 && group != 64 && group != 128)
        throw InputError("quant_matmul", "int4_asym group must be 32, 64 or 128, got " + std::to_string(group));
    const int be = quant_block_elems(type, group);
    if (n <= 0 || k <= 0 || k % be != 0)
        throw InputError("quant_matmul", std::string(quant_type_name(type)) + ": k = " + std::to_string(k) +
                         " is not a positive multiple of the block size " + std::to_string(be));
    const Layout l = layout_of(type);
    QuantMatrix w;
    w.type = type;
    w.group = group;
    w.n = n;
    w.k = k;
    w.tiles = (n + kQuantTileRows - 1) / kQuantTileRows;
    const int64_t units = k / be;
    const int64_t ub = unit_bytes(l, group);
    w.tile_bytes = units * ub;
    const size_t total = static_cast<size_t>(w.tiles * w.tile_bytes);
    w.data.reset(static_cast<uint8_t*>(aligned_alloc_bytes(total)));  // huge pages when large
    const auto* src = static_cast<const uint8_t*>(blocks);
    using PackTiles = void (*)(QuantMatrix&, const uint8_t*, int64_t, int64_t);
    static constexpr PackTiles kPackTiles[] = {
        pack_tiles<QuantType::q4_0>, pack_tiles<QuantType::q4_1>, pack_tiles<QuantType::q5_0>,
        pack_tiles<QuantType::q5_1>, pack_tiles<QuantType::q8_0>, pack_tiles<QuantType::q2_k>,
        pack_tiles<QuantType::q3_k>, pack_tiles<QuantType::q4_k>, pack_tiles<QuantType::q5_k>,
        pack_tiles<QuantType::q6_k>, pack_tiles<QuantType::int4_asym>};
    static_assert(std::size(kPackTiles) == static_cast<size_t>(QuantType::count_));
    parallel_for(w.tiles, 4, [&](int64_t t0, int64_t t1) { kPackTiles[static_cast<int>(type)](w, src, t0, t1); });
    return w;
}

QuantMatrix clone_quant_matrix(const QuantMatrix& w) {
    QuantMatrix c;
    c.type = w.type;
    c.group = w.group;
    c.n = w.n;
    c.k = w.k;
    c.tiles = w.tiles;
    c.tile_bytes = w.tile_bytes;
    c.data.reset(static_cast<uint8_t*>(aligned_alloc_bytes(w.packed_bytes())));
    std::memcpy(c.data.get(), w.data.get(), w.packed_bytes());
    return c;
}

std::vector<uint8_t> quantize_source_rows(QuantType t, int group, const float* x, int64_t n, int64_t k) {
    const int be = quant_block_elems(t, group), bb = quant_block_bytes(t, group);
    const int64_t row_bytes = k / be * bb;
    std::vector<uint8_t> out(static_cast<size_t>(n * row_bytes));
    for (int64_t r = 0; r < n; ++r) {
        const float* xr = x + r * k;
        void* o = out.data() + r * row_bytes;
        switch (t) {
            case QuantType::q4_0: quantize_row_q4_0(xr, static_cast<BlockQ4_0*>(o), k); break;
            case QuantType::q4_1: quantize_row_q4_1(xr, static_cast<BlockQ4_1*>(o), k); break;
            case QuantType::q5_0: quantize_row_q5_0(xr, static_cast<BlockQ5_0*>(o), k); break;
            case QuantType::q5_1: quantize_row_q5_1(xr, static_cast<BlockQ5_1*>(o), k); break;
            case QuantType::q8_0: quantize_row_q8_0(xr, static_cast<BlockQ8_0*>(o), k); break;
            case QuantType::q2_k: quantize_row_q2_K(xr, static_cast<BlockQ2_K*>(o), k); break;
            case QuantType::q3_k: quantize_row_q3_K(xr, static_cast<BlockQ3_K*>(o), k); break;
            case QuantType::q4_k: quantize_row_q4_K(xr, static_cast<BlockQ4_K*>(o), k); break;
            case QuantType::q5_k: quantize_row_q5_K(xr, static_cast<BlockQ5_K*>(o), k); break;
            case QuantType::q6_k: quantize_row_q6_K(xr, static_cast<BlockQ6_K*>(o), k); break;
            case QuantType::int4_asym: quantize_row_int4_asym(xr, static_cast<uint8_t*>(o), k, group); break;
            case QuantType::count_: break;
        }
    }
    return out;
}

void unpack_quant_row(const QuantMatrix& w, int64_t row, float* y) {
    const Layout l = layout_of(w.type);
    const int n = static_cast<int>(row % kQuantTileRows);
    const bool k = is_k(l.corr);
    const int elems = k ? 256 : w.group;
    const int64_t ub = unit_bytes(l, w.group);
    const uint8_t* tile = w.tile(row / kQuantTileRows);
    for (int64_t b = 0; b < w.k / elems; ++b) {
        const uint8_t* p = tile + b * ub;
        const float d = fp16_to_fp32(get_u16(p, n));
        int h = 32;
        float dmin = 0;
        int z = 0;
        if (l.corr == Corr::zero_point) {
            z = p[h + n];
            h += 16;
        } else if (l.corr == Corr::min_f16 || l.corr == Corr::k_asym) {
            dmin = fp16_to_fp32(get_u16(p + h, n));
            h += 32;
        }
        if (k) h = header_bytes(l);
        for (int e = 0; e < elems; ++e) {
            const int u = code_at(l, p + h + (e / 32) * chunk_bytes(l), n, e % 32);
            float& out = y[b * elems + e];
            const int s = e / (l.sub ? l.sub : 1);
            // Same operation order as the formats reference dequantizers.
            switch (l.corr) {
                case Corr::offset: out = static_cast<float>(u - l.off) * d; break;
                case Corr::zero_point: out = static_cast<float>(u - z) * d; break;
                case Corr::min_f16: out = static_cast<float>(u) * d + dmin; break;
                case Corr::k_asym:
                    out = d * static_cast<float>(k_scale(l, p, n, s)) * static_cast<float>(u) -
                          dmin * static_cast<float>(k_min(l, p, n, s));
                    break;
                case Corr::k_sym:
                    out = d * static_cast<float>(k_scale(l, p, n, s)) * static_cast<float>(u - l.off);
                    break;
            }
        }
    }
}

}  // namespace tern
