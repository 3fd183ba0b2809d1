// libFuzzer target: TFLite model import from memory (identifier check,
// FlatBuffers Verifier, tensor shapes against buffer sizes, index ranges,
// operator mapping). Rejection must be a tern::Error; an accepted graph must
// order topologically.
#include <cstdint>

#include "core/error.h"
#include "graph/tflite_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const tern::graph::Graph g = tern::graph::import_tflite_bytes(data, size, "fuzz.tflite");
        if (g.topological_order().size() != g.nodes.size()) __builtin_trap();
    } catch (const tern::Error&) {
    }
    return 0;
}
