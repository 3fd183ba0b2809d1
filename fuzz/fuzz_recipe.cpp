// libFuzzer target: training-recipe JSON. Rejection must be a tern::Error; an
// accepted recipe must survive recipe_to_json -> parse unchanged.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "nn/train/recipe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto r = tern::nn::train::parse_recipe_json(text, "fuzz.json");
        const auto j = tern::nn::train::recipe_to_json(r);
        const auto again = tern::nn::train::parse_recipe_json(j.dump(), "fuzz-again.json");
        if (tern::nn::train::recipe_to_json(again) != j) __builtin_trap();
    } catch (const tern::Error&) {
    }
    return 0;
}
