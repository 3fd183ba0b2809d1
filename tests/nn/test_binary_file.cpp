// Binary / ternary classifier files (nn/train/binary_file.h): a LeNet-5 with
// BWN, XNOR, TWN or TTQ layers written packed (u8 bits / codes + f32 scales)
// loads back computing exactly the same logits, the packed file is several
// times smaller than the f32 one, and a packed file that is truncated, has a
// wrong size or dtype, a bad code or bad "tern.binary" metadata fails with one
// InputError naming the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "io/safetensors.h"
#include "nn/models/zoo.h"
#include "nn/modules/binary_layer.h"
#include "nn/nn_test_util.h"
#include "nn/train/checkpoint.h"
#include "nn/train/model_file.h"

namespace tern::nn {
namespace {

using test::random_tensor;

std::string binary_file_temp_path(const std::string& name) {
    const auto d = std::filesystem::temp_directory_path() / ("tern-binary-file-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return (d / name).string();
}

struct Written {
    std::shared_ptr<UnaryModule> model;
    BinarySpec spec;
    std::string path;
};

// A seeded LeNet-5 with `method` binarizers, written packed to `name`.
Written write_binary_lenet5(const std::string& method, const std::string& name) {
    Written w;
    w.model = models::make_model("lenet5", 5, 1, 10);
    w.spec.method = method;
    w.spec.threshold = default_binary_threshold(method);
    attach_binarizers(*w.model, w.spec, "test");
    w.model->eval();
    w.path = binary_file_temp_path(name);
    train::save_classifier(w.path, *w.model,
                           {{"tern.model", "lenet5"}, {"tern.binary", binary_spec_json(w.spec)}});
    return w;
}

Tensor logits(UnaryModule& m, const Tensor& x) {
    NoGradGuard g;
    return m.forward(Var(x)).value().clone();
}

TEST(BinaryFile, PackedLayersLoadBackToTheSameLogits) {
    Rng rng(3);
    const Tensor x = random_tensor({4, 1, 28, 28}, rng);
    for (const char* method : {"bwn", "xnor", "twn", "ttq"}) {
        const Written w = write_binary_lenet5(method, std::string(method) + ".safetensors");
        EXPECT_EQ(w.spec.layers, (std::vector<std::string>{"conv2", "fc1", "fc2"})) << method;
        const Tensor want = logits(*w.model, x);
        const auto f = train::load_classifier(w.path);
        const Tensor got = logits(*f.model, x);
        for (int64_t i = 0; i < want.numel(); ++i) ASSERT_EQ(got.data<float>()[i], want.data<float>()[i]) << method << " " << i;
        // Stored packed: no f32 weight for the binarized layers, u8 for their bits / codes.
        const io::SafetensorsModel file = io::read_safetensors(w.path);
        std::set<std::string> names;
        for (const auto& t : file.tensors) {
            names.insert(t.name);
            if (t.name.ends_with(".bits") || t.name.ends_with(".codes")) {
                EXPECT_EQ(t.tensor.dtype(), DType::u8) << t.name;
            }
        }
        EXPECT_FALSE(names.count("fc1.weight")) << method;
        EXPECT_TRUE(names.count("conv1.weight") && names.count("fc3.weight")) << method;  // first and last stay f32
        EXPECT_TRUE(names.count(is_ternary_method(method) ? "fc1.weight.codes" : "fc1.weight.bits")) << method;
        // fc1 (48000 weights) dominates LeNet-5: the packed file is far below f32.
        const auto f32_bytes = io::safetensors_to_bytes(train::module_state(*w.model)).size();
        const auto packed_bytes = std::filesystem::file_size(w.path);
        std::printf("lenet5 %s: %zu bytes packed, %zu f32\n", method, static_cast<size_t>(packed_bytes), f32_bytes);
        EXPECT_LT(packed_bytes * (is_ternary_method(method) ? 4 : 6), f32_bytes) << method;
    }
}

// The XNOR Linear layers of a LeNet-300 run through kernels/bitserial (binary x
// binary popcount GEMM) when no gradient is needed; the float path (unpacked
// +-alpha weights times +-beta inputs through the SGEMM) gives the same logits
// up to float rounding, and the same class for every image.
TEST(BinaryFile, XnorLinearKernelPathEqualsTheFloatPath) {
    auto model = models::make_model("lenet300", 9, 1, 10);
    BinarySpec spec;
    spec.method = "xnor";
    spec.keep_first_last = false;  // every layer, so the 784-wide input layer (13 words a row) runs the kernel too
    attach_binarizers(*model, spec, "test");
    model->eval();
    Rng rng(4);
    const Tensor x = random_tensor({37, 1, 28, 28}, rng);
    const Tensor kernel = logits(*model, x);
    for (const auto& [name, layer] : binary_layers(*model)) layer->use_bitserial = false;
    const Tensor plain = logits(*model, x);
    ASSERT_EQ(kernel.numel(), plain.numel());
    const double e = test::rel_err(kernel.data<float>(), plain.data<float>(), kernel.numel());
    std::printf("xnor lenet300 bitserial vs float rel_err %.2e\n", e);
    EXPECT_LT(e, 1e-5);
    for (int64_t i = 0; i < 37; ++i) {
        const float* k = kernel.data<float>() + i * 10;
        const float* p = plain.data<float>() + i * 10;
        EXPECT_EQ(std::max_element(k, k + 10) - k, std::max_element(p, p + 10) - p) << "image " << i;
    }
    // With gradients on (training) the layer takes the float path: the same values again.
    for (const auto& [name, layer] : binary_layers(*model)) layer->use_bitserial = true;
    const Tensor grad_path = model->forward(Var(x)).value();
    EXPECT_LT(test::rel_err(grad_path.data<float>(), plain.data<float>(), plain.numel()), 1e-6);
}

// Rewrites `w`'s file with `edit` applied to its tensors and metadata, then expects load_classifier to name `error`.
template <class Edit>
void expect_load_error(const Written& w, const std::string& name, Edit edit, const std::string& error) {
    const io::SafetensorsModel src = io::read_safetensors(w.path);
    std::vector<NamedTensor> tensors;
    for (const auto& t : src.tensors) tensors.push_back({t.name, t.tensor.clone()});
    std::map<std::string, std::string> meta(src.infos[0].metadata.begin(), src.infos[0].metadata.end());
    edit(tensors, meta);
    const std::string bad = binary_file_temp_path(name);
    io::write_safetensors(bad, tensors, meta);
    try {
        train::load_classifier(bad);
        ADD_FAILURE() << name << ": loaded";
    } catch (const InputError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("[" + bad + "]"), std::string::npos) << name << ": " << what;
        EXPECT_NE(what.find(error), std::string::npos) << name << ": " << what;
    }
}

using Tensors = std::vector<NamedTensor>;
using Meta = std::map<std::string, std::string>;

Tensor& tensor_named(Tensors& ts, const std::string& name) {
    for (auto& t : ts)
        if (t.name == name) return t.tensor;
    throw std::runtime_error("no tensor " + name);
}

TEST(BinaryFile, BadPackedFilesFailNamingTheFile) {
    const Written b = write_binary_lenet5("bwn", "good_bwn.safetensors");
    const Written t = write_binary_lenet5("twn", "good_twn.safetensors");
    expect_load_error(b, "short_bits.safetensors", [](Tensors& ts, Meta&) {
        Tensor b = Tensor::empty({120, 49}, DType::u8);
        std::fill_n(b.data<uint8_t>(), b.numel(), uint8_t{0});
        tensor_named(ts, "fc1.weight.bits") = b;
    }, "packed tensor 'fc1.weight.bits' has shape [120, 49], expected [120, 50]");
    expect_load_error(b, "f32_bits.safetensors", [](Tensors& ts, Meta&) {
        Tensor f = Tensor::empty({84, 15});
        std::fill_n(f.data<float>(), f.numel(), 0.0f);
        tensor_named(ts, "fc2.weight.bits") = f;
    }, "packed tensor 'fc2.weight.bits' is f32, expected u8");
    expect_load_error(b, "no_alpha.safetensors", [](Tensors& ts, Meta&) {
        std::erase_if(ts, [](const NamedTensor& n) { return n.name == "conv2.weight.alpha"; });
    }, "packed tensor 'conv2.weight.alpha' is missing");
    expect_load_error(b, "neg_alpha.safetensors", [](Tensors& ts, Meta&) {
        tensor_named(ts, "fc1.weight.alpha").data<float>()[3] = -1.0f;
    }, "tensor 'fc1.weight.alpha' element 3 is -1; scales must be finite and >= 0");
    expect_load_error(b, "method.safetensors", [](Tensors&, Meta& m) {
        m["tern.binary"] = R"({"method": "dorefa", "layers": ["fc1"]})";
    }, "bad tern.binary metadata: method must be bwn, xnor, twn or ttq");
    expect_load_error(b, "layer.safetensors", [](Tensors&, Meta& m) {
        m["tern.binary"] = R"({"method": "bwn", "layers": ["conv2", "fc1", "fc9"]})";
    }, "tern.binary names layer 'fc9', not a Conv2d / Linear of the model");
    expect_load_error(b, "json.safetensors", [](Tensors&, Meta& m) { m["tern.binary"] = "{\"method\": "; },
                      "bad tern.binary metadata: not a JSON object");
    expect_load_error(b, "unpacked.safetensors", [](Tensors& ts, Meta& m) {
        m["tern.binary"] = R"({"method": "bwn", "layers": ["conv2", "fc1", "fc2", "fc3"]})";
    }, "tensor 'fc3.weight' is stored unpacked, but tern.binary says it is packed");
    expect_load_error(t, "code2.safetensors", [](Tensors& ts, Meta&) {
        tensor_named(ts, "fc2.weight.codes").data<uint8_t>()[0] = 0x02;
    }, "packed tensor 'fc2.weight.codes' row 0 weight 0 holds code 2");
    expect_load_error(t, "threshold.safetensors", [](Tensors&, Meta& m) {
        m["tern.binary"] = R"({"method": "twn", "threshold": 0, "layers": ["fc1"]})";
    }, "bad tern.binary metadata: threshold 0");
    // Truncated: the safetensors reader names the file before any unpacking.
    const std::string cut = binary_file_temp_path("cut.safetensors");
    std::filesystem::copy_file(b.path, cut, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
    try {
        train::load_classifier(cut);
        ADD_FAILURE() << "truncated file loaded";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(cut), std::string::npos) << e.what();
    }
    std::filesystem::remove_all(std::filesystem::path(b.path).parent_path());
}

}  // namespace
}  // namespace tern::nn
