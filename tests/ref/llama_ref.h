#pragma once
// llama.cpp itself (libllama from the npm package @node-llama-cpp/linux-x64,
// unpacked by scripts/setup.sh), opened with dlopen so tests can run the same
// GGUF file through the independent implementation: tokenize, then the logits
// of every position of a sequence evaluated from an empty cache.
//
// Only the C API's stable pieces are declared here. llama_model_params and
// llama_context_params are used at their defaults and handled as opaque
// buffers larger than the real structs (x86-64 SysV returns and passes such
// structs in memory, so the library reads and writes only its own bytes).
// Defaults that matter: n_ctx 512, f16 KV cache (as tern's perplexity).
#include <dlfcn.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/cache_dir.h"
#include "reference_state.h"

namespace tern::testref {

class LlamaCpp {
public:
    static std::string lib_dir() { return tern_cache_dir() + "/npm/llama-cpp-linux-x64/package/bins/linux-x64"; }
    // Missing when the libraries are not there; broken when they are and do
    // not load, or lack a symbol this file declares (an ABI change).
    static Reference reference() {
        if (api()) return Reference::present();
        for (const char* lib : {"/libggml.v0.5.0.so", "/libllama.v0.5.0.so"})
            if (Reference file = file_reference(lib_dir() + lib); !file.usable())
                return Reference::missing("llama.cpp (libllama): " + file.why);
        return Reference::broken("llama.cpp under " + lib_dir() + ": " + load_error());
    }

    explicit LlamaCpp(const std::string& gguf_path) {
        const Api* a = api();
        if (!a) throw std::runtime_error(reference().message());
        model_ = a->model_load(gguf_path.c_str(), a->model_defaults());
        if (!model_) throw std::runtime_error("llama.cpp could not load " + gguf_path);
        ctx_ = a->init_from_model(model_, a->context_defaults());
        if (!ctx_) throw std::runtime_error("llama.cpp could not create a context for " + gguf_path);
        vocab_ = a->model_get_vocab(model_);
        n_vocab_ = a->vocab_n_tokens(vocab_);
    }
    ~LlamaCpp() {
        if (ctx_) api()->free_ctx(ctx_);
        if (model_) api()->model_free(model_);
    }
    LlamaCpp(const LlamaCpp&) = delete;
    LlamaCpp& operator=(const LlamaCpp&) = delete;

    int32_t n_vocab() const { return n_vocab_; }
    int32_t bos() const { return api()->vocab_bos(vocab_); }

    // add_special: BOS as the model's metadata asks; special tokens in the text are not parsed.
    std::vector<int32_t> tokenize(const std::string& text, bool add_special) const {
        std::vector<int32_t> ids(text.size() + 16);
        int32_t n = api()->tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), ids.data(),
                                    static_cast<int32_t>(ids.size()), add_special, false);
        if (n < 0) throw std::runtime_error("llama_tokenize failed");
        ids.resize(static_cast<size_t>(n));
        return ids;
    }

    // Logits (T, n_vocab) of every position of `tokens`, from an empty cache.
    std::vector<float> logits(const std::vector<int32_t>& tokens) {
        const Api* a = api();
        a->memory_clear(a->get_memory(ctx_), true);
        const auto T = static_cast<int32_t>(tokens.size());
        Batch b = a->batch_init(T, 0, 1);
        b.n_tokens = T;
        for (int32_t i = 0; i < T; ++i) {
            b.token[i] = tokens[static_cast<size_t>(i)];
            b.pos[i] = i;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = 0;
            b.logits[i] = 1;
        }
        const int32_t rc = a->decode(ctx_, b);
        std::vector<float> out;
        if (rc == 0) {
            out.resize(static_cast<size_t>(T) * static_cast<size_t>(n_vocab_));
            for (int32_t i = 0; i < T; ++i) {
                const float* row = a->get_logits_ith(ctx_, i);
                std::copy(row, row + n_vocab_, out.data() + static_cast<size_t>(i) * static_cast<size_t>(n_vocab_));
            }
        }
        a->batch_free(b);
        if (rc != 0) throw std::runtime_error("llama_decode failed with " + std::to_string(rc));
        return out;
    }

private:
    struct Batch {  // struct llama_batch
        int32_t n_tokens;
        int32_t* token;
        float* embd;
        int32_t* pos;
        int32_t* n_seq_id;
        int32_t** seq_id;
        int8_t* logits;
    };
    struct alignas(8) Params {  // llama_model_params / llama_context_params, opaque
        unsigned char bytes[4096];
    };
    struct Api {
        Params (*model_defaults)();
        Params (*context_defaults)();
        void* (*model_load)(const char*, Params);
        void* (*init_from_model)(void*, Params);
        void (*free_ctx)(void*);
        void (*model_free)(void*);
        const void* (*model_get_vocab)(const void*);
        int32_t (*vocab_n_tokens)(const void*);
        int32_t (*vocab_bos)(const void*);
        int32_t (*tokenize)(const void*, const char*, int32_t, int32_t*, int32_t, bool, bool);
        Batch (*batch_init)(int32_t, int32_t, int32_t);
        void (*batch_free)(Batch);
        int32_t (*decode)(void*, Batch);
        float* (*get_logits_ith)(void*, int32_t);
        void* (*get_memory)(void*);
        void (*memory_clear)(void*, bool);
    };

    static const Api* api() {
        static const Api* loaded = load();
        return loaded;
    }
    static std::string& load_error() {
        static std::string error;
        return error;
    }
    static const Api* load() {
        const std::string dir = lib_dir();
        void* ggml = dlopen((dir + "/libggml.v0.5.0.so").c_str(), RTLD_NOW | RTLD_GLOBAL);
        if (!ggml) return load_error() = std::string("dlopen libggml: ") + dlerror(), nullptr;
        void* llama = dlopen((dir + "/libllama.v0.5.0.so").c_str(), RTLD_NOW | RTLD_GLOBAL);
        if (!llama) return load_error() = std::string("dlopen libllama: ") + dlerror(), nullptr;
        // The CPU backend is a plug-in (one build per ISA); load the best for this CPU.
        auto load_all = reinterpret_cast<void (*)(const char*)>(dlsym(ggml, "ggml_backend_load_all_from_path"));
        auto backend_init = reinterpret_cast<void (*)()>(dlsym(llama, "llama_backend_init"));
        auto log_set = reinterpret_cast<void (*)(void (*)(int, const char*, void*), void*)>(dlsym(llama, "llama_log_set"));
        if (!load_all) return load_error() = "symbol ggml_backend_load_all_from_path missing", nullptr;
        if (!backend_init) return load_error() = "symbol llama_backend_init missing", nullptr;
        if (log_set) log_set([](int, const char*, void*) {}, nullptr);  // keep test output readable
        load_all(dir.c_str());
        backend_init();
        static Api a;
        bool ok = true;
        auto sym = [&](auto& fn, const char* name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(llama, name));
            if (!fn) load_error() += std::string(ok ? "" : ", ") + "symbol " + name + " missing";
            ok = ok && fn != nullptr;
        };
        sym(a.model_defaults, "llama_model_default_params");
        sym(a.context_defaults, "llama_context_default_params");
        sym(a.model_load, "llama_model_load_from_file");
        sym(a.init_from_model, "llama_init_from_model");
        sym(a.free_ctx, "llama_free");
        sym(a.model_free, "llama_model_free");
        sym(a.model_get_vocab, "llama_model_get_vocab");
        sym(a.vocab_n_tokens, "llama_vocab_n_tokens");
        sym(a.vocab_bos, "llama_vocab_bos");
        sym(a.tokenize, "llama_tokenize");
        sym(a.batch_init, "llama_batch_init");
        sym(a.batch_free, "llama_batch_free");
        sym(a.decode, "llama_decode");
        sym(a.get_logits_ith, "llama_get_logits_ith");
        sym(a.get_memory, "llama_get_memory");
        sym(a.memory_clear, "llama_memory_clear");
        return ok ? &a : nullptr;
    }

    void* model_ = nullptr;
    void* ctx_ = nullptr;
    const void* vocab_ = nullptr;
    int32_t n_vocab_ = 0;
};

}  // namespace tern::testref
