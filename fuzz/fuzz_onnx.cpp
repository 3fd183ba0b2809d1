// libFuzzer target: ONNX ModelProto import from memory (protobuf parse,
// opset and op checks, initializer sizes, attribute kinds, cycles). Rejection
// must be a tern::Error; an accepted graph must order topologically.
#include <cstdint>

#include "core/error.h"
#include "graph/onnx_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const tern::graph::Graph g = tern::graph::import_onnx_bytes(data, size, "fuzz.onnx");
        if (g.topological_order().size() != g.nodes.size()) __builtin_trap();
    } catch (const tern::Error&) {
    }
    return 0;
}
