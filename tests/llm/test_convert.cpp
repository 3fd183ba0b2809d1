// tern convert / tern quantize from a Hugging Face folder: the GGUF carries
// llama.cpp's names, layouts, architecture keys and tokenizer, so llama.cpp's
// own libllama loads it and computes what tern computes on the HF folder; a
// Q4_K_M mix picks the same type per role from HF names as from GGUF names; a
// checkpoint whose result would not load is refused and nothing is written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli/cli_runner.h"
#include "io/gguf_reader.h"
#include "io/pretokenizer.h"
#include "io/tokenizer.h"
#include "io/tokenizer_internal.h"
#include "llm/forward.h"
#include "llm/llm_test_util.h"
#include "llm/model_loader.h"
#include "llm/tinylm_agreement.h"
#include "ref/llama_ref.h"
#include "ref/reference.h"

namespace tern::llm::test {
namespace {

using nlohmann::json;

// A byte-level BPE tokenizer.json (+ tokenizer_config.json) of exactly `vocab`
// ids, in the shape the real Llama-3 / Qwen2 / GPT-2 files have: 256 byte
// tokens, merges of letter pairs, and the model's special tokens at the end.
void write_tiny_tokenizer(const std::string& dir, Arch arch, int64_t vocab) {
    std::vector<std::string> specials;
    if (arch == Arch::llama) specials = {"<|begin_of_text|>", "<|end_of_text|>"};
    else if (arch == Arch::qwen2) specials = {"<|endoftext|>", "<|im_start|>"};
    else specials = {"<|endoftext|>"};
    json vocab_j = json::object(), merges = json::array();
    std::vector<std::string> texts;
    for (int b = 0; b < 256; ++b) texts.push_back(byte_to_unicode_utf8(uint8_t(b)));
    const std::string space = byte_to_unicode_utf8(' '), letters = "etaoinshrdlucmfwyp";
    std::vector<std::pair<std::string, std::string>> pairs;
    for (char c : letters) pairs.emplace_back(space, std::string(1, c));
    for (char a : letters)
        for (char b : letters) pairs.emplace_back(std::string(1, a), std::string(1, b));
    const size_t n_merges = static_cast<size_t>(vocab) - 256 - specials.size();
    for (size_t i = 0; i < n_merges; ++i) {
        merges.push_back(pairs[i].first + " " + pairs[i].second);
        texts.push_back(pairs[i].first + pairs[i].second);
    }
    for (size_t i = 0; i < texts.size(); ++i) vocab_j[texts[i]] = i;
    json added = json::array();
    for (size_t i = 0; i < specials.size(); ++i)
        added.push_back({{"id", texts.size() + i}, {"content", specials[i]}, {"special", true}});
    json t;
    t["model"] = {{"type", "BPE"}, {"vocab", vocab_j}, {"merges", merges}, {"ignore_merges", arch == Arch::llama}};
    t["added_tokens"] = added;
    if (arch == Arch::gpt2) {
        t["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
    } else {
        const SplitPattern p = arch == Arch::llama ? SplitPattern::llama3 : SplitPattern::qwen2;
        t["pre_tokenizer"] = {{"type", "Sequence"},
                              {"pretokenizers",
                               {{{"type", "Split"},
                                 {"pattern", {{"Regex", std::string(split_pattern_regex(p))}}},
                                 {"behavior", "Isolated"},
                                 {"invert", false}},
                                {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
    }
    if (arch == Arch::qwen2) t["normalizer"] = {{"type", "NFC"}};
    json cfg;
    if (arch == Arch::llama) {
        t["post_processor"] = {{"type", "TemplateProcessing"},
                               {"single",
                                {{{"SpecialToken", {{"id", specials[0]}, {"type_id", 0}}}},
                                 {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}}};
        cfg = {{"bos_token", specials[0]}, {"eos_token", specials[1]}};
    } else {
        cfg = {{"bos_token", arch == Arch::gpt2 ? json(specials[0]) : json()}, {"eos_token", specials[0]}};
    }
    std::ofstream(dir + "/tokenizer.json") << t.dump();
    std::ofstream(dir + "/tokenizer_config.json") << cfg.dump();
}

std::string write_hf_folder(const testio::TempDir& tmp, const TinySpec& s, bool tokenizer) {
    const std::string dir = tmp.file(s.name + "_hf");
    write_hf_copy(s, make_hf_tensors(s), dir);
    if (tokenizer) write_tiny_tokenizer(dir, s.arch, s.vocab);
    return dir;
}

std::vector<TinySpec> convert_specs() {
    TinySpec llama;  // GQA, untied head, Llama-3 rope scaling (rope_freqs.weight)
    llama.name = "conv_llama";
    llama.vocab = 300;
    llama.llama3_rope = true;
    llama.seed = 71;
    TinySpec qwen;  // MQA, qkv bias, tied, sharded
    qwen.name = "conv_qwen2";
    qwen.arch = Arch::qwen2;
    qwen.d = 48, qwen.heads = 3, qwen.kv_heads = 1, qwen.ff = 80, qwen.vocab = 300;
    qwen.tied = true, qwen.theta = 1e6f, qwen.sharded = true, qwen.seed = 72;
    TinySpec gpt2;  // fused Conv1D qkv, learned positions
    gpt2.name = "conv_gpt2";
    gpt2.arch = Arch::gpt2;
    gpt2.kv_heads = 4, gpt2.ff = 256, gpt2.vocab = 300, gpt2.seed = 73;
    return {llama, qwen, gpt2};
}

TEST(ConvertCli, LlamaCppLoadsConvertedModelsAndAgreesWithTernOnTheHfFolder) {
    TERN_REQUIRE_REFERENCE(testref::LlamaCpp::reference());
    testio::TempDir tmp;
    const std::string text = "the cat sat on the mat; hello world 1234!\n  Once upon a time, there were 3 bears.";
    for (const TinySpec& s : convert_specs()) {
        const std::string hf = write_hf_folder(tmp, s, true);
        const auto model = load_model(hf);  // tern on the HF folder: the reference side
        for (const char* type : {"f32", "f16"}) {
            const std::string out = tmp.file(s.name + "-" + type + ".gguf");
            const auto r = testcli::run_tern("convert " + hf + " -o " + out + " --type " + type);
            ASSERT_EQ(r.code, 0) << s.name << ": " << r.all();
            testref::LlamaCpp ref(out);
            ASSERT_EQ(ref.n_vocab(), s.vocab) << s.name;
            // The tokenizer keys say what tokenizer.json says.
            const auto mine = load_tokenizer_json(hf + "/tokenizer.json")->encode(text, true);
            EXPECT_EQ(mine, ref.tokenize(text, true)) << s.name;

            SessionOptions so;
            so.n_ctx = 64;
            so.kv_type = ops::KvType::f16;  // llama.cpp's default cache type
            Session session(*model, so);
            Rng rng(s.seed + 5);
            Agreement a;
            double max_err = 0;
            std::vector<float> logits;
            for (int w = 0; w < 4; ++w) {
                std::vector<int32_t> win(64);
                for (auto& t : win) t = rng.below(int32_t(s.vocab));
                session.reset();
                session.eval(win, logits, true);
                const std::vector<float> theirs = ref.logits(win);
                const int64_t V = s.vocab;
                for (int64_t i = 0; i + 1 < 64; ++i) {
                    const float* m = logits.data() + i * V;
                    const float* t = theirs.data() + i * V;
                    a.argmax_equal += (std::max_element(m, m + V) - m) == (std::max_element(t, t + V) - t);
                    ++a.positions;
                    a.nll_tern += nll_of(m, V, win[size_t(i + 1)]);
                    a.nll_llama += nll_of(t, V, win[size_t(i + 1)]);
                    ++a.scored;
                    max_err = std::max(max_err, rel_err(t, m, V));
                }
            }
            EXPECT_GE(a.argmax_rate(), 0.99) << s.name << " " << type;
            EXPECT_NEAR(a.ppl_llama(), a.ppl_tern(), 0.005 * a.ppl_tern()) << s.name << " " << type;
            std::printf("[ convert  ] %-10s %-3s %lld positions: argmax agreement %.2f%%, ppl tern(HF) %.3f "
                        "llama.cpp(GGUF) %.3f, max logit rel err %.2e\n",
                        s.name.c_str(), type, static_cast<long long>(a.positions), 100 * a.argmax_rate(), a.ppl_tern(),
                        a.ppl_llama(), max_err);
        }
    }
}

TEST(ConvertCli, ConvertedGgufLoadsInTernWithTheSameLogits) {
    // The same check without llama.cpp: tern on the converted GGUF (llama q/k
    // permuted, adjacent-pair RoPE) against tern on the HF folder (NeoX RoPE).
    testio::TempDir tmp;
    for (const TinySpec& s : convert_specs()) {
        const std::string hf = write_hf_folder(tmp, s, true);
        const std::string out = tmp.file(s.name + ".gguf");
        const auto r = testcli::run_tern("convert " + hf + " -o " + out + " --type f32");
        ASSERT_EQ(r.code, 0) << r.all();
        const io::GgufModel g = io::read_gguf(out);
        const auto* arch = io::find_metadata(g.info.metadata, "general.architecture");
        ASSERT_NE(arch, nullptr);
        EXPECT_EQ(arch->s, arch_name(s.arch));
        const auto* model = io::find_metadata(g.info.metadata, "tokenizer.ggml.model");
        ASSERT_NE(model, nullptr);
        EXPECT_EQ(model->s, "gpt2");
        const auto* pre = io::find_metadata(g.info.metadata, "tokenizer.ggml.pre");
        ASSERT_NE(pre, nullptr);
        EXPECT_EQ(pre->s, s.arch == Arch::llama ? "llama-bpe" : s.arch == Arch::qwen2 ? "qwen2" : "gpt-2");
        const auto from_hf = load_model(hf), from_gguf = load_model(out);
        SessionOptions so;
        so.n_ctx = 32;
        Session a(*from_hf, so), b(*from_gguf, so);
        std::vector<int32_t> toks;
        Rng rng(s.seed);
        for (int i = 0; i < 32; ++i) toks.push_back(rng.below(int32_t(s.vocab)));
        std::vector<float> la, lb;
        a.eval(toks, la, true);
        b.eval(toks, lb, true);
        ASSERT_EQ(la.size(), lb.size());
        EXPECT_LT(rel_err(lb.data(), la.data(), int64_t(la.size())), 1e-4) << s.name;
    }
}

// Every tensor's type in a GGUF file, by name.
std::map<std::string, std::string> types_of(const std::string& path) {
    std::map<std::string, std::string> m;
    for (const auto& t : io::read_gguf(path).tensors) m[t.name] = dtype_name(t.tensor.dtype());
    return m;
}

TEST(QuantizeCli, MixFromHfNamesGivesTheSameTypesAsFromGgufNames) {
    testio::TempDir tmp;
    TinySpec llama;  // 8 layers: Q4_K_M's "more bits" layers are 0, 3, 6, 7
    llama.name = "mix_llama";
    llama.d = 256, llama.layers = 8, llama.heads = 4, llama.kv_heads = 2, llama.ff = 512, llama.vocab = 300;
    llama.seed = 81;
    TinySpec qwen = llama;  // tied: token_embd takes output's Q6_K
    qwen.name = "mix_qwen2", qwen.arch = Arch::qwen2, qwen.layers = 3, qwen.tied = true, qwen.seed = 82;
    TinySpec gpt2 = llama;  // HF Conv1D names
    gpt2.name = "mix_gpt2", gpt2.arch = Arch::gpt2, gpt2.layers = 3, gpt2.kv_heads = 4, gpt2.seed = 83;
    for (const TinySpec& s : {llama, qwen, gpt2}) {
        const std::string hf = write_hf_folder(tmp, s, s.arch == Arch::llama);
        const std::string twin = tmp.file(s.name + "-twin.gguf");
        write_gguf_copy(s, make_hf_tensors(s), twin);
        // The llama case names the .safetensors file itself (config.json beside it).
        const std::string in = s.arch == Arch::llama ? hf + "/model.safetensors" : hf;
        const std::string from_hf = tmp.file(s.name + "-hf-q4km.gguf"), from_gguf = tmp.file(s.name + "-gguf-q4km.gguf");
        auto r = testcli::run_tern("quantize " + in + " -o " + from_hf + " --format q4_k_m");
        ASSERT_EQ(r.code, 0) << r.all();
        r = testcli::run_tern("quantize " + twin + " -o " + from_gguf + " --format q4_k_m");
        ASSERT_EQ(r.code, 0) << r.all();
        const auto a = types_of(from_hf), b = types_of(from_gguf);
        EXPECT_EQ(a, b) << s.name;
        if (s.arch == Arch::llama) {
            EXPECT_EQ(a.at("blk.0.ffn_down.weight"), "q6_k");
            EXPECT_EQ(a.at("blk.3.attn_v.weight"), "q6_k");
            EXPECT_EQ(a.at("blk.1.ffn_down.weight"), "q4_k");
            EXPECT_EQ(a.at("output.weight"), "q6_k");
            EXPECT_EQ(a.at("blk.1.attn_norm.weight"), "f32");
            if (testref::LlamaCpp::reference().usable()) {  // required by the test above
                testref::LlamaCpp ref(from_hf);  // throws when libllama cannot load it
                EXPECT_EQ(ref.n_vocab(), s.vocab);
                EXPECT_EQ(ref.logits({1, 2, 3}).size(), size_t(3 * s.vocab));
            }
        }
        if (s.arch == Arch::qwen2) {
            EXPECT_EQ(a.at("token_embd.weight"), "q6_k");
        }
        EXPECT_NO_THROW(load_model(from_hf)) << s.name;
    }
}

void expect_nothing_written(const testio::TempDir& tmp, const std::string& out) {
    EXPECT_FALSE(std::filesystem::exists(out)) << out;
    for (const auto& e : std::filesystem::directory_iterator(tmp.path()))
        EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(QuantizeCli, HfCheckpointThatWouldNotLoadIsNotWritten) {
    testio::TempDir tmp;
    TinySpec s;
    s.name = "bad_shape";
    auto hf = make_hf_tensors(s);
    for (auto& t : hf)
        if (t.name == "model.layers.1.mlp.up_proj.weight") {  // 100 rows where config.json says 96
            t.shape = {100, s.d};
            t.v.resize(size_t(100 * s.d), 0.5f);
        }
    const std::string dir = tmp.file("bad_hf");
    write_hf_copy(s, hf, dir);
    const std::string out = tmp.file("out.gguf");
    auto r = testcli::run_tern("quantize " + dir + " -o " + out + " --format q8_0");
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find("blk.1.ffn_up.weight"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(out), std::string::npos) << r.err;
    expect_nothing_written(tmp, out);
    r = testcli::run_tern("convert " + dir + " -o " + out);
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find("blk.1.ffn_up.weight"), std::string::npos) << r.err;
    expect_nothing_written(tmp, out);
}

TEST(ConvertCli, BadRequestsFailCleanly) {
    testio::TempDir tmp;
    TinySpec s;
    s.name = "small";
    const std::string hf = write_hf_folder(tmp, s, false);
    const std::string out = tmp.file("out.gguf");
    auto r = testcli::run_tern("convert " + hf + " -o " + out + " --type q4_0");
    EXPECT_EQ(r.code, 2) << r.all();
    EXPECT_NE(r.err.find("f16, bf16, f32"), std::string::npos) << r.err;
    r = testcli::run_tern("convert " + tmp.path() + " -o " + out);  // no config.json
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;
    // A tokenizer with more ids than the model's vocabulary (101) cannot describe its rows.
    write_tiny_tokenizer(hf, Arch::llama, 300);
    r = testcli::run_tern("convert " + hf + " -o " + out);
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find("tokenizer.json"), std::string::npos) << r.err;
    r = testcli::run_tern("quantize " + hf + " -o " + out + " --format q8_0");
    EXPECT_EQ(r.code, 1) << r.all();
    expect_nothing_written(tmp, out);
    // An unknown tensor is refused, not silently dropped.
    auto tensors = make_hf_tensors(s);
    tensors.push_back({"model.layers.0.mlp.experts.0.w1.weight", {4, 4}, std::vector<float>(16, 1.0f)});
    const std::string extra = tmp.file("extra_hf");
    write_hf_copy(s, tensors, extra);
    r = testcli::run_tern("convert " + extra + " -o " + out);
    EXPECT_EQ(r.code, 1) << r.all();
    EXPECT_NE(r.err.find("experts.0.w1.weight"), std::string::npos) << r.err;
    expect_nothing_written(tmp, out);
}

}  // namespace
}  // namespace tern::llm::test
