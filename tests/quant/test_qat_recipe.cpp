// The recipe's "qat" section: every key, its defaults, the round trip through
// recipe_to_json, and hostile values (one InputError naming the file and the
// key); a model file with bad "tern.qat" metadata is refused by name.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "nn/models/zoo.h"
#include "nn/modules/fake_quant.h"
#include "nn/train/model_file.h"
#include "nn/train/recipe.h"

using namespace tern;
using namespace tern::nn::train;

namespace {

std::string qat_recipe_recipe(const std::string& qat, const std::string& extra = R"("init": "m.safetensors",)") {
    return R"({"model": "lenet5", "epochs": 3, "batch_size": 64, "optimizer": {"name": "sgd", "lr": 0.01}, )" + extra + R"( "output": "o.safetensors", "qat": )" + qat + "}";
}

std::string qat_recipe_error_of(const std::string& text) {
    try {
        parse_recipe_json(text, "r.json");
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(QatRecipe, ParsesEveryKeyAndRoundTrips) {
    const Recipe r = parse_recipe_json(qat_recipe_recipe(R"({"method": "pact", "weight_bits": 3, "act_bits": 5,
        "per_channel": false, "calibration_batches": 2, "freeze_bn_epoch": 2})"), "r.json");
    ASSERT_TRUE(r.has_qat);
    EXPECT_EQ(r.qat.method, "pact");
    EXPECT_EQ(r.qat.weight_bits, 3);
    EXPECT_EQ(r.qat.act_bits, 5);
    EXPECT_FALSE(r.qat.per_channel);
    EXPECT_EQ(r.qat.calibration_batches, 2);
    EXPECT_EQ(r.qat.freeze_bn_epoch, 2);
    const Recipe back = parse_recipe_json(recipe_to_json(r).dump(), "back.json");
    EXPECT_EQ(recipe_to_json(back).dump(), recipe_to_json(r).dump());

    const Recipe d = parse_recipe_json(qat_recipe_recipe("{}"), "r.json");
    EXPECT_EQ(d.qat.method, "lsq");
    EXPECT_EQ(d.qat.weight_bits, 4);
    EXPECT_EQ(d.qat.act_bits, 8);
    EXPECT_TRUE(d.qat.per_channel);
    EXPECT_EQ(d.qat.calibration_batches, 8);
    EXPECT_EQ(d.qat.freeze_bn_epoch, 0);
    EXPECT_FALSE(parse_recipe_json(R"({"model": "lenet5", "epochs": 1, "batch_size": 8, "optimizer": {"name": "sgd", "lr": 0.01}})", "r.json").has_qat);
}

TEST(QatRecipe, HostileValuesNameTheFileAndKey) {
    const std::pair<std::string, std::string> cases[] = {
        {qat_recipe_recipe(R"({"method": "int4"})"), "key 'qat.method': 'int4' is not one of: ste, lsq, pact"},
        {qat_recipe_recipe(R"({"weight_bits": 1})"), "key 'qat.weight_bits': must be in [2, 8], got 1"},
        {qat_recipe_recipe(R"({"weight_bits": 16})"), "key 'qat.weight_bits': must be in [2, 8], got 16"},
        {qat_recipe_recipe(R"({"act_bits": 0})"), "key 'qat.act_bits': must be in [2, 8], got 0"},
        {qat_recipe_recipe(R"({"act_bits": "8"})"), "key 'qat.act_bits': must be an integer"},
        {qat_recipe_recipe(R"({"weight_bits": 4.5})"), "key 'qat.weight_bits': must be an integer"},
        {qat_recipe_recipe(R"({"per_channel": "yes"})"), "key 'qat.per_channel': must be true or false"},
        {qat_recipe_recipe(R"({"calibration_batches": 0})"), "key 'qat.calibration_batches': must be in [1, 10000], got 0"},
        {qat_recipe_recipe(R"({"freeze_bn_epoch": 4})"), "key 'qat.freeze_bn_epoch': must be in [0, 3], got 4"},
        {qat_recipe_recipe(R"({"freeze_bn_epoch": -1})"), "key 'qat.freeze_bn_epoch': must be in [0, 3], got -1"},
        {qat_recipe_recipe(R"({"wieght_bits": 4})"), "key 'qat.wieght_bits': unknown key"},
        {qat_recipe_recipe(R"("lsq")"), "key 'qat': must be an object"},
        {qat_recipe_recipe("{}", ""), "key 'qat': needs 'init': QAT starts from a trained fp32 model"},
        {qat_recipe_recipe("{}", R"("init": "m.safetensors", "prune": {"sparsity": 0.5},)"),
         "key 'qat': cannot be combined with 'prune'"},
    };
    for (const auto& [text, want] : cases) {
        const std::string e = qat_recipe_error_of(text);
        EXPECT_NE(e.find("r.json"), std::string::npos) << text << " -> " << e;
        EXPECT_NE(e.find(want), std::string::npos) << text << " -> " << e;
    }
}

TEST(QatRecipe, ModelFileWithBadQatMetadataIsRefused) {
    const auto dir = std::filesystem::temp_directory_path() / ("tern-qat-meta-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "m.safetensors").string();
    const auto model = nn::models::make_model("lenet300", 1, 1, 10);
    const std::pair<std::string, std::string> cases[] = {
        {R"({"method": "lsq", "weight_bits": 12})", "bad tern.qat metadata: weight_bits must be an integer in [2, 8]"},
        {R"({"method": "xnor"})", "bad tern.qat metadata: unknown method 'xnor'"},
        {"not json", "bad tern.qat metadata: not a JSON object"},
        // Valid metadata over an fp32 model's tensors: the scales are missing.
        {R"({"method": "lsq"})", "qat.weight_scale"},
    };
    for (const auto& [meta, want] : cases) {
        save_classifier(path, *model, {{"tern.model", "lenet300"}, {"tern.qat", meta}});
        try {
            load_classifier(path);
            ADD_FAILURE() << meta << " loaded";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << meta << " -> " << e.what();
        }
    }
    std::filesystem::remove_all(dir);
}

TEST(QatRecipe, QatFileRoundTripsItsScales) {
    const auto dir = std::filesystem::temp_directory_path() / ("tern-qat-rt-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "m.safetensors").string();
    auto model = nn::models::make_model("lenet300", 1, 1, 10);
    nn::FakeQuantSpec spec;
    spec.weight_bits = 3;
    EXPECT_EQ(nn::attach_fake_quant(*model, spec), 3);
    auto layers = nn::fake_quant_layers(*model);
    ASSERT_EQ(layers.size(), 3u);
    layers[1].second->weight_scale.data()[5] = 0.125f;
    save_classifier(path, *model, {{"tern.model", "lenet300"}, {"tern.qat", nn::fake_quant_spec_json(spec)}});
    const ClassifierFile f = load_classifier(path);
    auto loaded = nn::fake_quant_layers(*f.model);
    ASSERT_EQ(loaded.size(), 3u);
    EXPECT_EQ(loaded[1].first, layers[1].first);
    EXPECT_EQ(loaded[1].second->spec.weight_bits, 3);
    EXPECT_EQ(loaded[1].second->weight_scale.data()[5], 0.125f);

    // A negative step in the file: refused at load, naming the file and the tensor.
    layers[2].second->act_scale.data()[0] = -0.5f;
    save_classifier(path, *model, {{"tern.model", "lenet300"}, {"tern.qat", nn::fake_quant_spec_json(spec)}});
    try {
        load_classifier(path);
        ADD_FAILURE() << "a negative QAT scale loaded";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("tensor 'fc3.qat.act_scale' element 0 is -0.5; QAT scales must be finite and > 0"),
                  std::string::npos)
            << e.what();
    }
    std::filesystem::remove_all(dir);
}
