// libFuzzer target: the GGUF parser and `tern info` summary on arbitrary bytes,
// straight from memory (no file I/O per input). Any input may be rejected with
// tern::Error; anything else (a crash, a sanitizer report, another exception,
// metadata that does not survive a write/read round trip) is a finding.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/error.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/model_info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> bytes(data, size);
    tern::io::GgufFile f;
    try {
        f = tern::io::parse_gguf(bytes, "fuzz.gguf");
    } catch (const tern::Error&) {
        return 0;
    }
    for (const auto& [key, value] : f.metadata) (void)value.to_text();
    const tern::ModelFileInfo info = tern::model_info_from_bytes(bytes, "fuzz.gguf");  // must not throw now
    (void)tern::model_info_json(info).dump();

    // What was read must write and read back identically (metadata; tensors need a mapped file).
    const auto again = tern::io::parse_gguf(tern::io::gguf_to_bytes(f.metadata, {}), "again.gguf");
    if (!(again.metadata == f.metadata)) std::abort();
    return 0;
}
