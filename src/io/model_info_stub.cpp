// Placeholder until io/gguf and io/safetensors land (replaced by io/model_info.cpp).
#include "core/error.h"
#include "io/model_info.h"

namespace tern {
ModelFileInfo read_model_info(const std::string& path) { throw InputError(path, "model readers not built yet"); }
Json model_info_json(const ModelFileInfo&) { return {}; }
void print_model_info(const ModelFileInfo&, bool) {}
}  // namespace tern
namespace tern {
std::vector<NamedTensor> load_tensors(const std::string& path) { throw InputError(path, "model readers not built yet"); }
}  // namespace tern
