// The recipe's "binary" / "ternary" sections: defaults per method, the round
// trip through recipe_to_json, and refusals (one InputError naming the file
// and the key): unknown methods, thresholds out of range, no init, and a
// section combined with qat / prune / distill or with the other one.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "nn/train/recipe.h"

using namespace tern;
using namespace tern::nn::train;

namespace {

std::string binary_recipe_recipe(const std::string& sections, const std::string& extra = R"("init": "m.safetensors",)") {
    return R"({"model": "lenet5", "epochs": 3, "batch_size": 64, "optimizer": {"name": "sgd", "lr": 0.01}, )" + extra +
           R"( "output": "o.safetensors", )" + sections + "}";
}

std::string binary_recipe_error_of(const std::string& text) {
    try {
        parse_recipe_json(text, "r.json");
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(BinaryRecipe, MethodsDefaultsAndRoundTrip) {
    const Recipe b = parse_recipe_json(binary_recipe_recipe(R"("binary": {})"), "r.json");
    ASSERT_TRUE(b.has_binary);
    EXPECT_EQ(b.binary.method, "bwn");
    EXPECT_TRUE(b.binary.keep_first_last);
    const Recipe x = parse_recipe_json(binary_recipe_recipe(R"("binary": {"method": "xnor", "keep_first_last": false})"), "r.json");
    EXPECT_EQ(x.binary.method, "xnor");
    EXPECT_FALSE(x.binary.keep_first_last);
    const Recipe t = parse_recipe_json(binary_recipe_recipe(R"("ternary": {})"), "r.json");
    EXPECT_EQ(t.binary.method, "twn");
    EXPECT_FLOAT_EQ(t.binary.threshold, 0.7f);
    const Recipe q = parse_recipe_json(binary_recipe_recipe(R"("ternary": {"method": "ttq", "threshold": 0.1})"), "r.json");
    EXPECT_EQ(q.binary.method, "ttq");
    EXPECT_FLOAT_EQ(q.binary.threshold, 0.1f);
    EXPECT_FLOAT_EQ(parse_recipe_json(binary_recipe_recipe(R"("ternary": {"method": "ttq"})"), "r.json").binary.threshold, 0.05f);
    for (const Recipe* r : {&b, &x, &t, &q}) {
        const Recipe back = parse_recipe_json(recipe_to_json(*r).dump(), "round");
        EXPECT_EQ(back.binary.method, r->binary.method);
        EXPECT_FLOAT_EQ(back.binary.threshold, r->binary.threshold);
        EXPECT_EQ(back.binary.keep_first_last, r->binary.keep_first_last);
    }
    EXPECT_FALSE(parse_recipe_json(binary_recipe_recipe(R"("validation": 0)"), "r.json").has_binary);
}

TEST(BinaryRecipe, BadSectionsFailNamingTheKey) {
    const std::pair<std::string, std::string> cases[] = {
        {binary_recipe_recipe(R"("binary": {"method": "twn"})"), "[r.json] key 'binary.method': 'twn' is not one of: bwn, xnor"},
        {binary_recipe_recipe(R"("ternary": {"method": "bwn"})"), "[r.json] key 'ternary.method': 'bwn' is not one of: twn, ttq"},
        {binary_recipe_recipe(R"("ternary": {"method": "ttq", "threshold": 1.5})"), "key 'ternary.threshold': must be in [0.001, 0.99], got 1.5"},
        {binary_recipe_recipe(R"("ternary": {"threshold": 0})"), "key 'ternary.threshold': must be in [0.01, 1.49], got 0"},
        {binary_recipe_recipe(R"("binary": {"threshold": 0.5})"), "key 'binary.threshold': unknown key"},
        {binary_recipe_recipe(R"("binary": {"bits": 1})"), "key 'binary.bits': unknown key"},
        {binary_recipe_recipe(R"("binary": 1)"), "key 'binary': must be an object"},
        {binary_recipe_recipe(R"("binary": {})", ""), "key 'binary': needs 'init'"},
        {binary_recipe_recipe(R"("binary": {}, "ternary": {})"), "key 'ternary': cannot be combined with 'binary'"},
        {binary_recipe_recipe(R"("binary": {}, "qat": {})"), "key 'binary': cannot be combined with 'qat' in one recipe"},
        {binary_recipe_recipe(R"("ternary": {}, "prune": {"sparsity": 0.5})"), "key 'ternary': cannot be combined with 'prune' in one recipe"},
        {binary_recipe_recipe(R"("binary": {}, "distill": {"teacher": "t.safetensors"})"),
         "key 'binary': cannot be combined with 'distill' in one recipe"},
    };
    for (const auto& [text, error] : cases) EXPECT_NE(binary_recipe_error_of(text).find(error), std::string::npos) << error << "\n got: " << binary_recipe_error_of(text);
}

TEST(BinaryRecipe, CommittedRecipesParse) {
    const std::pair<const char*, const char*> recipes[] = {
        {"fmnist-lenet5-bwn", "bwn"},         {"fmnist-lenet5-twn", "twn"},
        {"fmnist-lenet5-xnor", "xnor"},       {"fmnist-lenet300-xnor", "xnor"},
        {"fmnist-lenet300-xnor-all", "xnor"}, {"fmnist-mobilenetv2_tiny-ttq", "ttq"},
    };
    for (const auto& [name, method] : recipes) {
        const Recipe r = load_recipe(std::string(TERN_SOURCE_DIR) + "/models/recipes/" + name + ".json");
        EXPECT_TRUE(r.has_binary) << name;
        EXPECT_EQ(r.binary.method, method) << name;
        EXPECT_EQ(r.output, std::string("models/") + name + ".safetensors");
        EXPECT_EQ(r.init.rfind("models/fmnist-", 0), 0u) << name;
    }
}
