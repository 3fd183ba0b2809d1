#include "graph/model_file.h"

#include <cstdio>

#include "graph/onnx_import.h"
#include "graph/tflite_import.h"

namespace tern::graph {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The first 8 bytes hold a flatbuffer's root offset and file identifier.
bool starts_like_tflite(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    unsigned char head[8];
    const size_t got = std::fread(head, 1, sizeof head, f);
    std::fclose(f);
    return has_tflite_identifier(head, got);
}

}  // namespace

GraphFileFormat graph_file_format(const std::string& path) {
    if (ends_with(path, ".onnx")) return GraphFileFormat::onnx;
    if (ends_with(path, ".tflite") || starts_like_tflite(path)) return GraphFileFormat::tflite;
    return GraphFileFormat::none;
}

const char* graph_file_format_name(GraphFileFormat f) {
    switch (f) {
        case GraphFileFormat::onnx: return "ONNX";
        case GraphFileFormat::tflite: return "TFLite";
        default: return "unknown";
    }
}

Graph import_graph_file(const std::string& path) {
    // ONNX files carry no magic bytes: whatever is not TFLite is read as ONNX (and refused as "not an ONNX model").
    return graph_file_format(path) == GraphFileFormat::tflite ? import_tflite_file(path) : import_onnx_file(path);
}

}  // namespace tern::graph
