// Weights holding NaN / Inf are refused at load by name (GGUF and HF, plain
// floats and GGUF block scales) unless allow_nonfinite; a run whose logits turn
// non-finite stops with an error instead of sampling token 0 or printing
// "PPL = nan"; a file with more blocks than it declares is refused; quantize
// refuses values beyond its target format's range. CLI: exit 1, one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>

#include "cli/cli_runner.h"
#include "core/error.h"
#include "core/half.h"
#include "formats/format.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "llm/forward.h"
#include "llm/llm_test_util.h"
#include "llm/model_loader.h"
#include "llm/perplexity.h"
#include "quant/rtn.h"

namespace tern::llm::test {
namespace {

using testcli::run_tern;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

int nonfinite_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

TinySpec small_llama(DType dtype = DType::f32) {
    TinySpec s;
    s.name = "nf_llama";
    s.d = 32, s.layers = 2, s.heads = 2, s.kv_heads = 1, s.ff = 64, s.vocab = 50, s.ctx = 64;
    s.dtype = dtype;
    s.seed = 7;
    return s;
}

// The tiny model's HF tensors with value `v` written at element `at` of `hf_name`.
std::vector<HfTensor> poisoned(const TinySpec& s, const std::string& hf_name, int64_t at, float v) {
    std::vector<HfTensor> hf = make_hf_tensors(s);
    bool found = false;
    for (auto& t : hf)
        if (t.name == hf_name) {
            t.v[static_cast<size_t>(at)] = v;
            found = true;
        }
    EXPECT_TRUE(found) << hf_name;
    return hf;
}

std::string write_gguf_model(const testio::TempDir& dir, const std::string& file, const TinySpec& s,
                             const std::vector<HfTensor>& hf) {
    const std::string path = dir.file(file);
    write_gguf_copy(s, hf, path);
    return path;
}

// A copy of the GGUF at `src` with its metadata or tensors edited.
std::string nonfinite_edited_gguf(const std::string& src, const std::string& dst,
                        const std::function<void(io::GgufMetadata&, std::vector<NamedTensor>&)>& edit) {
    io::GgufModel g = io::read_gguf(src);
    io::GgufMetadata md = g.info.metadata;
    std::vector<NamedTensor> ts;
    for (const auto& t : g.tensors) ts.push_back({t.name, t.tensor.clone()});
    edit(md, ts);
    io::write_gguf(dst, md, ts);
    return dst;
}

std::string nonfinite_load_error(const std::string& path, const LoadOptions& o = {}) {
    try {
        load_model(path, o);
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

TEST(NonfiniteLoad, NanInOneAttentionMatrixIsRefusedByName) {
    testio::TempDir dir;
    const TinySpec s = small_llama();
    // One NaN in layer 1's v projection: on its own the forward pass absorbs it.
    const std::string path =
        write_gguf_model(dir, "nan.gguf", s, poisoned(s, "model.layers.1.self_attn.v_proj.weight", 5, kNaN));
    EXPECT_EQ(nonfinite_load_error(path), "[" + path + "] tensor 'blk.1.attn_v.weight' holds 1 non-finite value (the first, "
                                             "NaN, at element 5); --allow-nonfinite loads it anyway");
    LoadOptions allow;
    allow.allow_nonfinite = true;
    EXPECT_NO_THROW(load_model(path, allow));
    // A finite model loads as before.
    EXPECT_NO_THROW(load_model(write_gguf_model(dir, "ok.gguf", s, make_hf_tensors(s))));
}

TEST(NonfiniteLoad, HfCheckpointIsRefusedByItsOwnTensorName) {
    testio::TempDir dir;
    for (DType t : {DType::f32, DType::f16, DType::bf16}) {
        SCOPED_TRACE(std::string(dtype_name(t)));
        const TinySpec s = small_llama(t);
        const std::string hf_dir = dir.file(std::string("hf_") + std::string(dtype_name(t)));
        write_hf_copy(s, poisoned(s, "model.layers.0.mlp.up_proj.weight", 70, -kInf), hf_dir);
        EXPECT_NE(nonfinite_load_error(hf_dir).find("tensor 'model.layers.0.mlp.up_proj.weight' holds 1 non-finite value (the "
                                          "first, Inf, at element 70)"),
                  std::string::npos)
            << nonfinite_load_error(hf_dir);
        // A norm (kept in f32 by GGUF, 1-D) is checked too.
        write_hf_copy(s, poisoned(s, "model.norm.weight", 3, kNaN), hf_dir);
        EXPECT_NE(nonfinite_load_error(hf_dir).find("'model.norm.weight' holds 1 non-finite"), std::string::npos);
    }
}

TEST(NonfiniteLoad, InfBlockScaleOfAQuantizedTensorIsRefused) {
    testio::TempDir dir;
    const TinySpec s = small_llama();
    const std::string src = write_gguf_model(dir, "ok.gguf", s, make_hf_tensors(s));
    for (DType t : {DType::q8_0, DType::q4_0}) {
        const std::string path = nonfinite_edited_gguf(src, dir.file(std::string(dtype_name(t)) + ".gguf"), [&](auto&, auto& ts) {
            for (auto& nt : ts)
                if (nt.name == "blk.0.ffn_down.weight") {
                    nt.tensor = quantize_tensor_rtn(nt.tensor, *format_for_dtype(t), nt.name);
                    const uint16_t inf = 0x7c00;  // both formats keep d at byte 0 of block 3
                    std::memcpy(nt.tensor.raw_data() + 3 * dtype_info(t).block_bytes, &inf, 2);
                }
        });
        EXPECT_NE(nonfinite_load_error(path).find("tensor 'blk.0.ffn_down.weight' holds 1 non-finite block scale (the first, "
                                        "Inf, in block 3)"),
                  std::string::npos)
            << nonfinite_load_error(path);
    }
}

TEST(NonfiniteRun, NanLogitsStopTheSessionAndPerplexity) {
    testio::TempDir dir;
    const TinySpec s = small_llama();
    // A NaN in the final norm reaches every logit.
    const std::string path = write_gguf_model(dir, "nan.gguf", s, poisoned(s, "model.norm.weight", 0, kNaN));
    LoadOptions allow;
    allow.allow_nonfinite = true;
    const auto model = load_model(path, allow);
    Session session(*model, {});
    std::vector<float> logits;
    const std::vector<int32_t> prompt = {1, 2, 3};
    try {
        session.eval(prompt, logits);
        FAIL() << "NaN logits accepted";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()), "[" + path + "] the logits at positions [0, 3) are NaN or Inf: the weights or "
                                                      "activations overflow");
    }
    std::vector<int32_t> tokens(32);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(i % 50);
    Session ppl_session(*model, {});
    EXPECT_THROW(compute_perplexity(ppl_session, tokens, 16), InputError);
}

TEST(NonfiniteCli, GeneratePerplexityAndEvalRefuseOrStop) {
    testio::TempDir dir;
    const TinySpec s = small_llama();
    const std::string path = write_gguf_model(dir, "nan.gguf", s, poisoned(s, "model.norm.weight", 0, kNaN));
    const std::string ids = dir.file("ids.txt");
    std::ofstream(ids) << "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20";
    const std::string gen = "generate " + path + " --tokens \"1 2 3\" -n 8 --temp 0", ppl = "perplexity " + path + " --tokens-file " + ids + " -c 8";
    for (const std::string& cmd : {gen, ppl}) {
        const auto refused = run_tern(cmd);
        EXPECT_EQ(refused.code, 1) << cmd << ": " << refused.err;
        EXPECT_EQ(nonfinite_lines(refused.err), 1) << refused.err;
        EXPECT_NE(refused.err.find("[" + path + "] tensor 'output_norm.weight' holds 1 non-finite value"), std::string::npos)
            << refused.err;
        EXPECT_NE(refused.err.find("--allow-nonfinite"), std::string::npos);
        EXPECT_EQ(refused.out, "");
        // Let in, the run stops at the first NaN logits rather than print token 0s or "PPL = nan".
        const auto stopped = run_tern(cmd + " --allow-nonfinite");
        EXPECT_EQ(stopped.code, 1) << cmd << ": " << stopped.err;
        EXPECT_EQ(nonfinite_lines(stopped.err), 1) << stopped.err;
        EXPECT_NE(stopped.err.find("are NaN or Inf"), std::string::npos) << stopped.err;
        EXPECT_EQ(stopped.out.find("nan"), std::string::npos) << stopped.out;
        EXPECT_EQ(stopped.out.find(" 0 0 0"), std::string::npos) << stopped.out;
    }
    // eval of a language model goes through the same loader.
    const auto ev = run_tern("eval " + path + " --data " + ids);
    EXPECT_EQ(ev.code, 1) << ev.err;
    EXPECT_NE(ev.err.find("'output_norm.weight' holds 1 non-finite value"), std::string::npos) << ev.err;
}

TEST(LayerCount, FileWithMoreBlocksThanDeclaredIsRefused) {
    testio::TempDir dir;
    const TinySpec s = small_llama();
    const std::string src = write_gguf_model(dir, "ok.gguf", s, make_hf_tensors(s));
    const std::string fewer = nonfinite_edited_gguf(src, dir.file("fewer.gguf"), [](auto& md, auto&) {
        for (auto& [k, v] : md)
            if (k == "llama.block_count") v = io::GgufValue::of_u32(1);
    });
    EXPECT_NE(nonfinite_load_error(fewer).find("tensor 'blk.1.attn_k.weight' belongs to layer 1 but the model declares a layer count of 1"),
              std::string::npos)
        << nonfinite_load_error(fewer);
    const auto r = run_tern("generate " + fewer + " --tokens 1 -n 2");
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(nonfinite_lines(r.err), 1) << r.err;
    // HF: num_hidden_layers smaller than the model.layers.* the checkpoint holds.
    const std::string hf = dir.file("hf");
    write_hf_copy(s, make_hf_tensors(s), hf);
    auto cfg = hf_config(s);
    cfg["num_hidden_layers"] = 1;
    std::ofstream(hf + "/config.json") << cfg.dump();
    EXPECT_NE(nonfinite_load_error(hf).find("tensor 'model.layers.1."), std::string::npos) << nonfinite_load_error(hf);
}

// A block_count far above the blocks held was allocated for before any tensor
// was missed (fuzz_llm_gguf: block_count ~10^8 asked for 7.6 GB): refused first.
TEST(LayerCount, DeclaredCountAboveTheBlocksHeldIsRefusedBeforeAllocating) {
    testio::TempDir dir;
    const TinySpec s = small_llama();
    const std::string src = write_gguf_model(dir, "ok.gguf", s, make_hf_tensors(s));
    const std::string more = nonfinite_edited_gguf(src, dir.file("more.gguf"), [](auto& md, auto&) {
        for (auto& [k, v] : md)
            if (k == "llama.block_count") v = io::GgufValue::of_u32(100000000);
    });
    EXPECT_NE(nonfinite_load_error(more).find("declares 100000000 layers (block_count / num_hidden_layers) but holds tensors for 2"),
              std::string::npos)
        << nonfinite_load_error(more);
    const auto r = run_tern("generate " + more + " --tokens 1 -n 2");
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(nonfinite_lines(r.err), 1) << r.err;
}

TEST(NonfiniteQuantize, F16OverflowIsRefusedNamingTheTensor) {
    testio::TempDir dir;
    std::vector<float> w(4 * 32, 0.25f);
    w[37] = 70000.0f, w[38] = -1e6f;  // beyond f16's 65504
    const std::string in = dir.file("in.safetensors"), out = dir.file("out.gguf");
    io::write_safetensors(in, {{"big.weight", Tensor::from_floats({4, 32}, w)},
                               {"ok.weight", Tensor::from_floats({4, 32}, std::vector<float>(128, 1.0f))}});
    const auto r = run_tern("quantize " + in + " -o " + out + " --format f16");
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(nonfinite_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("[" + in + "] tensor 'big.weight': |x| up to 1e+06 is beyond the range of f16: 2 values would "
                         "become Inf or NaN"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
    // Block formats: a q8_0 scale is amax / 127, so 1e7 overflows its f16 d.
    w[38] = 1e7f;
    io::write_safetensors(in, {{"big.weight", Tensor::from_floats({4, 32}, w)}});
    const auto q = run_tern("quantize " + in + " -o " + out + " --format q8_0");
    EXPECT_EQ(q.code, 1) << q.err;
    EXPECT_NE(q.err.find("q8_0: 1 block scale would become Inf"), std::string::npos) << q.err;
    // Values in range still quantize; NaN input (even in a tensor kept as it is) is refused by file and name.
    w[37] = w[38] = 60000.0f;
    io::write_safetensors(in, {{"big.weight", Tensor::from_floats({4, 32}, w)},
                               {"norm.weight", Tensor::from_floats({3}, std::vector<float>{1.0f, kNaN, 1.0f})}});
    const auto nan = run_tern("quantize " + in + " -o " + out + " --format f16");
    EXPECT_EQ(nan.code, 1);
    EXPECT_NE(nan.err.find("[" + in + "] tensor 'norm.weight' holds 1 non-finite value"), std::string::npos) << nan.err;
    io::write_safetensors(in, {{"big.weight", Tensor::from_floats({4, 32}, w)}});
    const auto ok = run_tern("quantize " + in + " -o " + out + " --format f16");
    EXPECT_EQ(ok.code, 0) << ok.err;
}

}  // namespace
}  // namespace tern::llm::test
