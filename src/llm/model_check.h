#pragma once
// A model file checked the way load_model checks it, without preparing weights.
#include <string>

namespace tern::llm {

// Config, and every tensor the runtime needs present with its shape and a
// decodable dtype: cheap enough to run on a file just written. Throws
// InputError naming the file and the problem (defined in model_loader.cpp).
void check_model_file(const std::string& path);

}  // namespace tern::llm
