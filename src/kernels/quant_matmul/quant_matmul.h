#pragma once
// Quantized weights × activations: y(M×N) = x(M×K) · W^T, W stored in a GGUF
// block type (Q4_0 … Q6_K) or tern's group-wise int4 (asymmetric).
//
// Lifecycle (create → run): pack_quant_matrix() repacks the GGUF blocks once at
// load time into 16-row tiles whose codes are interleaved so one 64-byte load
// gives 16 rows × 4 consecutive k (the operand shape of `vpdpbusd`), with the
// per-block scales of those 16 rows side by side. quant_matmul() then runs the
// decode GEMV (M = 1) or the prefill GEMM (M > 1) on the packed matrix.
//
// Activations are either fp32 (weights decoded to fp32, FMA) or dynamically
// quantized to int8 per block (32 for the legacy types and int4, 256 with
// 16-sums for the K-quants, as llama.cpp's Q8_0 / Q8_K) so the inner loop is an
// integer dot product (VNNI on AVX-512, maddubs on AVX2).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"

namespace tern {

class ThreadPool;

enum class QuantType : uint8_t { q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k, int4_asym, count_ };

const char* quant_type_name(QuantType t);
// The GGUF dtype of a type (int4_asym has none and returns nullopt-like DType::count_).
DType quant_type_dtype(QuantType t);
// The kernel type (and group) that runs weights stored as `t`, from the
// storage type table's kernel column; nullopt when t is not packed.
struct QuantKernelChoice {
    QuantType type;
    int group;
};
std::optional<QuantKernelChoice> quant_kernel_for_dtype(DType t);
bool is_k_quant(QuantType t);
// Elements per source block: 32, 256, or the int4 group size.
int quant_block_elems(QuantType t, int group);
// Bytes per source block (GGUF block, or tern's int4 block).
int quant_block_bytes(QuantType t, int group);

// Rows per packed tile: one AVX-512 vector of int32/fp32 lanes.
inline constexpr int kQuantTileRows = 16;

struct QuantMatrix {
    QuantType type = QuantType::q4_0;
    int group = 32;         // int4 group size (32/64/128); block size otherwise
    int64_t n = 0, k = 0;   // W: (n, k)
    int64_t tiles = 0;      // ceil(n / 16); rows past n are zero
    int64_t tile_bytes = 0; // bytes of one tile (all k)
    struct Free {
        void operator()(uint8_t* p) const;
    };
    std::unique_ptr<uint8_t[], Free> data;  // (tiles, tile_bytes), 64-byte aligned

    const uint8_t* tile(int64_t t) const { return data.get() + t * tile_bytes; }
    // Bytes of the source (GGUF / int4) matrix: the "weight bytes" of GB/s figures.
    uint64_t source_bytes() const;
    uint64_t packed_bytes() const { return static_cast<uint64_t>(tiles * tile_bytes); }
};

// blocks: n rows of k / quant_block_elems blocks each (GGUF row layout).
// k must be a multiple of the block size. Throws on bad shapes.
QuantMatrix pack_quant_matrix(QuantType type, const void* blocks, int64_t n, int64_t k, int group = 32);
// A deep copy (benchmarks rotate over copies to defeat the caches).
QuantMatrix clone_quant_matrix(const QuantMatrix& w);
// Quantizes n rows of x (n, k) to source blocks with the formats reference
// (GGUF quantize_row_*, or int4_asym's); for tests, benchmarks and tools.
std::vector<uint8_t> quantize_source_rows(QuantType type, int group, const float* x, int64_t n, int64_t k);
// Decodes packed row `row` back to floats (k values), bit-identical to the
// formats reference dequantizer; the test that the repack lost nothing.
void unpack_quant_row(const QuantMatrix& w, int64_t row, float* y);

// int8 activations, one matmul's worth. Legacy/int4: blocks of 32 with a
// per-block scale and sum; K-quants: blocks of 256 with sums of every 16.
struct QuantActs {
    int64_t m = 0, k = 0;
    int block = 32;   // 32 (legacy) or 256 (K-quants)
    int8_t* q;        // (m, k)
    uint8_t* qu;      // (m, k)        K-quants: q + 128 as u8 (the unsigned operand against signed weights)
    float* d;         // (m, k / block)
    int32_t* sum32;   // (m, k / 32)   legacy: sum of the 32 codes
    float* dsum32;    // (m, k / 32)   legacy: d · sum32 in fp32 (the min term's factor: q4_1, q5_1)
    int16_t* sum16;   // (m, k / 16)   K-quants: sum of every 16 codes
};

// Scratch reused across calls; grows on first use only.
class QuantScratch {
public:
    QuantActs acts(int64_t m, int64_t k, int block);
    float* xsum16(int64_t m, int64_t k);  // (m, k / 16) fp32 sums of x, fp32 path
private:
    std::vector<int8_t> q_;
    std::vector<float> d_, xs_;
    std::vector<uint8_t> qu_;
    std::vector<int32_t> s32_;
    std::vector<float> ds32_;
    std::vector<int16_t> s16_;
};

enum class ActMode : uint8_t { f32, int8 };

struct QuantMatmulKernels {
    const char* name;  // "quant_matmul_avx512vnni"
    Isa isa;
    // Quantizes rows [0, a.m) of x (m, k) into a (bit-identical across variants):
    // d = amax / 127, q = round_half_even(x / d) (x * (1/d)), sums of q.
    void (*quantize_acts)(const float* x, QuantActs& a);
    // y(a.m, w.n) = acts · W^T for tiles [t0, t1) (columns 16·t0 … min(16·t1, n)).
    void (*matmul_q8)(const QuantMatrix& w, const QuantActs& a, float* y, int64_t t0, int64_t t1);
    // y(m, w.n) = x(m, k) · W^T for tiles [t0, t1); xsum16: (m, k/16) sums of x.
    void (*matmul_f32)(const QuantMatrix& w, const float* x, const float* xsum16, int64_t m, float* y, int64_t t0,
                       int64_t t1);
};

// The variant active_isa() chooses, and every variant this CPU supports (scalar
// first): tests, benchmarks and `tern info --cpu` walk these (kernel_table.h).
const QuantMatmulKernels& quant_matmul_kernel();
std::span<const QuantMatmulKernels* const> quant_matmul_variants();

extern const QuantMatmulKernels kQuantMatmulScalar;
extern const QuantMatmulKernels kQuantMatmulAvx2;
extern const QuantMatmulKernels kQuantMatmulAvx512;

// y(m, w.n) = x(m, k) · W^T, threaded over column tiles on `pool`.
void quant_matmul(const QuantMatrix& w, const float* x, int64_t m, float* y, ActMode mode, QuantScratch& scratch,
                  ThreadPool& pool, const QuantMatmulKernels& kern = quant_matmul_kernel());

// Several matrices with the same k (and activation block size) applied to the
// same x: ys[i] (m, ws[i]->n) = x · ws[i]^T. The activations are quantized
// once and the threads split the tiles of all matrices together, one barrier
// instead of one per matrix (decode runs q/k/v and gate/up this way).
inline constexpr size_t kMaxMatricesTogether = 8;
void quant_matmul_many(std::span<const QuantMatrix* const> ws, const float* x, int64_t m, std::span<float* const> ys,
                       ActMode mode, QuantScratch& scratch, ThreadPool& pool,
                       const QuantMatmulKernels& kern = quant_matmul_kernel());

// Truth for tests (ref.cpp): rows dequantized with the formats reference, dot in
// fp64. `blocks` in source layout. y: (m, n).
void quant_matmul_reference(QuantType type, int group, const void* blocks, int64_t n, int64_t k, const float* x,
                            int64_t m, double* y);
// The same with x replaced by its int8 quantization (as quantize_acts makes it).
void quant_matmul_reference_q8(QuantType type, int group, const void* blocks, int64_t n, int64_t k,
                               const QuantActs& a, double* y);

}  // namespace tern
