#pragma once
// Writes a GGUF with llama.cpp's own gguf library (libggml-base.so, opened via
// tests/ref/ggml_ref.h) so tern's reader is checked against an independent
// writer. Prototypes are declared here with opaque pointers; the enum values
// are ggml's published ones.
#include <cstdint>
#include <string>
#include <vector>

#include <cstring>

#include "../ref/ggml_ref.h"
#include "io_test_util.h"

namespace tern::testio {

struct GgmlInitParams {  // ggml_init_params, passed by value
    size_t mem_size;
    void* mem_buffer;
    bool no_alloc;
};
struct GgufInitParams {  // gguf_init_params, passed by value
    bool no_alloc;
    void** ctx;
};

// ggml_type ids used below.
constexpr int kGgmlF32 = 0, kGgmlF16 = 1, kGgmlQ8_0 = 8, kGgmlQ4_K = 12, kGgmlI32 = 26, kGgmlBF16 = 30;
// gguf_type ids.
constexpr int kGgufU8 = 0, kGgufI16 = 3, kGgufI32 = 5, kGgufF32 = 6, kGgufF64 = 12, kGgufBool = 7;

struct LlamaTensor {
    std::string name;
    int type;
    std::vector<int64_t> ne;  // innermost first, as ggml
    std::vector<uint8_t> bytes;
};

struct LlamaFileContents {
    std::vector<LlamaTensor> tensors;
};

// Returns false when a symbol is missing (the caller skips). Fills `out` with what was written.
inline bool write_gguf_with_llama_cpp(const std::string& path, LlamaFileContents* out) {
    using namespace tern::testref;
    auto ggml_init = ggml_symbol<void* (*)(GgmlInitParams)>("ggml_init");
    auto ggml_free = ggml_symbol<void (*)(void*)>("ggml_free");
    auto ggml_new_tensor = ggml_symbol<void* (*)(void*, int, int, const int64_t*)>("ggml_new_tensor");
    auto ggml_set_name = ggml_symbol<void* (*)(void*, const char*)>("ggml_set_name");
    auto ggml_get_data = ggml_symbol<void* (*)(const void*)>("ggml_get_data");
    auto ggml_nbytes = ggml_symbol<size_t (*)(const void*)>("ggml_nbytes");
    auto gguf_init_empty = ggml_symbol<void* (*)()>("gguf_init_empty");
    auto gguf_free = ggml_symbol<void (*)(void*)>("gguf_free");
    auto set_u8 = ggml_symbol<void (*)(void*, const char*, uint8_t)>("gguf_set_val_u8");
    auto set_i8 = ggml_symbol<void (*)(void*, const char*, int8_t)>("gguf_set_val_i8");
    auto set_u16 = ggml_symbol<void (*)(void*, const char*, uint16_t)>("gguf_set_val_u16");
    auto set_i16 = ggml_symbol<void (*)(void*, const char*, int16_t)>("gguf_set_val_i16");
    auto set_u32 = ggml_symbol<void (*)(void*, const char*, uint32_t)>("gguf_set_val_u32");
    auto set_i32 = ggml_symbol<void (*)(void*, const char*, int32_t)>("gguf_set_val_i32");
    auto set_f32 = ggml_symbol<void (*)(void*, const char*, float)>("gguf_set_val_f32");
    auto set_u64 = ggml_symbol<void (*)(void*, const char*, uint64_t)>("gguf_set_val_u64");
    auto set_i64 = ggml_symbol<void (*)(void*, const char*, int64_t)>("gguf_set_val_i64");
    auto set_f64 = ggml_symbol<void (*)(void*, const char*, double)>("gguf_set_val_f64");
    auto set_bool = ggml_symbol<void (*)(void*, const char*, bool)>("gguf_set_val_bool");
    auto set_str = ggml_symbol<void (*)(void*, const char*, const char*)>("gguf_set_val_str");
    auto set_arr_data = ggml_symbol<void (*)(void*, const char*, int, const void*, size_t)>("gguf_set_arr_data");
    auto set_arr_str = ggml_symbol<void (*)(void*, const char*, const char**, size_t)>("gguf_set_arr_str");
    auto add_tensor = ggml_symbol<void (*)(void*, const void*)>("gguf_add_tensor");
    auto write_to_file = ggml_symbol<bool (*)(const void*, const char*, bool)>("gguf_write_to_file");
    for (void* f : {(void*)ggml_init, (void*)ggml_free, (void*)ggml_new_tensor, (void*)ggml_set_name,
                    (void*)ggml_get_data, (void*)ggml_nbytes, (void*)gguf_init_empty, (void*)gguf_free,
                    (void*)set_u8, (void*)set_i8, (void*)set_u16, (void*)set_i16, (void*)set_u32, (void*)set_i32,
                    (void*)set_f32, (void*)set_u64, (void*)set_i64, (void*)set_f64, (void*)set_bool,
                    (void*)set_str, (void*)set_arr_data, (void*)set_arr_str, (void*)add_tensor,
                    (void*)write_to_file})
        if (!f) return false;

    void* gctx = gguf_init_empty();
    set_str(gctx, "general.architecture", "llama");
    set_str(gctx, "general.name", "tern-test-tiny");
    set_u32(gctx, "llama.context_length", 2048);
    set_u32(gctx, "llama.embedding_length", 64);
    set_u8(gctx, "test.u8", 200);
    set_i8(gctx, "test.i8", -100);
    set_u16(gctx, "test.u16", 60000);
    set_i16(gctx, "test.i16", -30000);
    set_i32(gctx, "test.i32", -2000000000);
    set_f32(gctx, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    set_u64(gctx, "test.u64", 18000000000000000000ull);
    set_i64(gctx, "test.i64", -9000000000000000000ll);
    set_f64(gctx, "test.f64", 3.141592653589793);
    set_bool(gctx, "test.bool", true);
    const std::vector<int32_t> ints = {1, -2, 3, 40000, -50000};
    set_arr_data(gctx, "test.arr_i32", kGgufI32, ints.data(), ints.size());
    const std::vector<float> scores = {0.f, -1.5f, 2.25f};
    set_arr_data(gctx, "tokenizer.ggml.scores", kGgufF32, scores.data(), scores.size());
    std::vector<std::string> tokens;
    for (int k = 0; k < 40; ++k) tokens.push_back("tok" + std::to_string(k));
    std::vector<const char*> token_ptrs;
    for (const auto& t : tokens) token_ptrs.push_back(t.c_str());
    set_arr_str(gctx, "tokenizer.ggml.tokens", token_ptrs.data(), token_ptrs.size());

    GgmlInitParams params{size_t{1} << 20, nullptr, false};
    void* ctx = ggml_init(params);
    out->tensors = {
        {"token_embd.weight", kGgmlF16, {64, 40}, {}},
        {"blk.0.attn_q.weight", kGgmlQ8_0, {64, 64}, {}},
        {"blk.0.ffn_up.weight", kGgmlQ4_K, {256, 3}, {}},
        {"blk.0.attn_norm.weight", kGgmlF32, {64}, {}},
        {"blk.0.extra.bf16", kGgmlBF16, {8, 2, 3}, {}},
        {"rope.ids", kGgmlI32, {4, 1, 1, 2}, {}},
    };
    uint32_t seed = 1;
    for (auto& lt : out->tensors) {
        void* t = ggml_new_tensor(ctx, lt.type, static_cast<int>(lt.ne.size()), lt.ne.data());
        ggml_set_name(t, lt.name.c_str());
        lt.bytes = pattern_bytes(ggml_nbytes(t), seed++);
        std::memcpy(ggml_get_data(t), lt.bytes.data(), lt.bytes.size());
        add_tensor(gctx, t);
    }
    const bool ok = write_to_file(gctx, path.c_str(), false);
    gguf_free(gctx);
    ggml_free(ctx);
    return ok;
}

}  // namespace tern::testio
