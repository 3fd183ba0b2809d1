// `tern info` and load_tensors: detect the container by content, summarise it.
#include "io/model_info.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/printable.h"
#include "core/table.h"
#include "io/gguf_reader.h"
#include "io/model_container.h"
#include "io/safetensors.h"

namespace tern {
namespace {

namespace fs = std::filesystem;

using Container = io::ModelContainer;

Container detect(std::span<const uint8_t> bytes, const std::string& where) {
    return io::detect_model_container(bytes, where);
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A folder stands for the checkpoint inside it.
std::string resolve_path(const std::string& path) {
    if (!is_directory(path)) return path;
    for (const char* name : {"model.safetensors.index.json", "model.safetensors"}) {
        const fs::path p = fs::path(path) / name;
        if (fs::exists(p)) return p.string();
    }
    throw InputError(path, "folder has neither model.safetensors.index.json nor model.safetensors");
}

void add_tensor(ModelFileInfo& info, const std::string& name, DType dtype, const Shape& shape, uint64_t bytes,
                uint64_t offset) {
    const uint64_t numel = static_cast<uint64_t>(shape_numel(shape));
    info.parameters = numel > UINT64_MAX - info.parameters ? UINT64_MAX : info.parameters + numel;
    info.tensor_bytes += bytes;  // tensors do not overlap, so the sum is at most the file size
    info.tensors.push_back({name, std::string(dtype_name(dtype)), shape, bytes, offset});
}

ModelFileInfo describe_gguf(const io::GgufFile& f, const std::string& path) {
    ModelFileInfo info;
    info.path = path;
    info.container = "gguf v" + std::to_string(f.version);
    info.file_bytes = f.file_bytes;
    if (const auto* arch = io::find_metadata(f.metadata, "general.architecture");
        arch && arch->type == io::GgufType::string)
        info.architecture = arch->s;
    for (const auto& [k, v] : f.metadata) info.metadata.emplace_back(k, v.to_text());
    for (const auto& t : f.tensors) add_tensor(info, t.name, t.dtype, t.shape, t.nbytes, t.file_offset);
    return info;
}

void describe_safetensors_file(ModelFileInfo& info, const io::SafetensorsFile& f) {
    for (const auto& t : f.tensors) add_tensor(info, t.name, t.dtype, t.shape, t.end - t.begin, t.file_offset);
    for (const auto& [k, v] : f.metadata) {
        bool known = false;
        for (const auto& [k2, v2] : info.metadata) known = known || k2 == k;
        if (!known) info.metadata.emplace_back(k, v.size() > 200 ? v.substr(0, 200) + "..." : v);
    }
}

// HF checkpoints name their architecture in config.json beside the weights.
std::string architecture_from_config(const std::string& weights_path) {
    const fs::path config = fs::path(weights_path).parent_path() / "config.json";
    try {
        if (!fs::is_regular_file(config) || fs::file_size(config) > (1u << 20)) return {};
        const auto file = MappedFile::open(config.string());
        const auto* p = reinterpret_cast<const char*>(file->data());
        const auto j = nlohmann::json::parse(p, p + file->size(), nullptr, false);
        if (j.is_object() && j.contains("architectures") && j["architectures"].is_array() &&
            !j["architectures"].empty() && j["architectures"][0].is_string())
            return j["architectures"][0].get<std::string>();
        if (j.is_object() && j.contains("model_type") && j["model_type"].is_string())
            return j["model_type"].get<std::string>();
    } catch (const std::exception&) {
        // The config is a courtesy; a bad one must not hide the weights' summary.
    }
    return {};
}

ModelFileInfo describe_safetensors(const io::SafetensorsModel& m, const std::string& path) {
    ModelFileInfo info;
    info.path = path;
    info.container = m.infos.size() == 1 ? "safetensors" : "safetensors (" + std::to_string(m.infos.size()) + " shards)";
    for (const auto& f : m.files) info.file_bytes += f->size();
    info.metadata = m.index_metadata;
    for (const auto& f : m.infos) describe_safetensors_file(info, f);
    for (const auto& [k, v] : info.metadata)
        if (k == "architecture") info.architecture = v;
    if (info.architecture.empty()) info.architecture = architecture_from_config(m.paths.front());
    return info;
}

// JSON strings must be UTF-8, but GGUF keys, names and values are raw bytes:
// invalid sequences become U+FFFD so `tern info --json` never fails on them.
std::string utf8_or_replacement(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    size_t k = 0;
    while (k < s.size()) {
        const auto c = static_cast<unsigned char>(s[k]);
        size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        bool ok = len > 0 && k + len <= s.size();
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
        for (size_t m = 1; ok && m < len; ++m) {
            const auto cc = static_cast<unsigned char>(s[k + m]);
            ok = (cc & 0xc0) == 0x80;
            cp = (cp << 6) | (cc & 0x3f);
        }
        // Reject overlong forms, surrogates and code points past U+10FFFF, as JSON parsers do.
        if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                   (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff))
            ok = false;
        if (ok) {
            out.append(s, k, len);
            k += len;
        } else {
            out += "\xef\xbf\xbd";
            ++k;
        }
    }
    return out;
}

}  // namespace

ModelFileInfo model_info_from_bytes(std::span<const uint8_t> bytes, const std::string& name) {
    switch (detect(bytes, name)) {
        case Container::gguf: return describe_gguf(io::parse_gguf(bytes, name), name);
        case Container::safetensors: {
            ModelFileInfo info;
            info.path = name;
            info.container = "safetensors";
            info.file_bytes = bytes.size();
            describe_safetensors_file(info, io::parse_safetensors(bytes, name));
            return info;
        }
        case Container::safetensors_index: break;
    }
    throw InputError(name, "a safetensors index needs its shard files; give its path instead");
}

ModelFileInfo read_model_info(const std::string& path) {
    const std::string resolved = resolve_path(path);
    const auto file = MappedFile::open(resolved);
    const std::span<const uint8_t> bytes(file->data(), file->size());
    switch (detect(bytes, resolved)) {
        case Container::gguf: return describe_gguf(io::parse_gguf(bytes, resolved), resolved);
        case Container::safetensors: return describe_safetensors(io::read_safetensors(resolved), resolved);
        case Container::safetensors_index:
            return describe_safetensors(io::read_safetensors_index(resolved), resolved);
    }
    throw InputError(resolved, "unknown format");
}

std::vector<NamedTensor> load_tensors(const std::string& path) {
    const std::string resolved = resolve_path(path);
    Container kind;
    {
        const auto file = MappedFile::open(resolved);
        kind = detect(std::span<const uint8_t>(file->data(), file->size()), resolved);
    }
    switch (kind) {
        case Container::gguf: return io::read_gguf(resolved).tensors;
        case Container::safetensors: return io::read_safetensors(resolved).tensors;
        case Container::safetensors_index: return io::read_safetensors_index(resolved).tensors;
    }
    throw InputError(resolved, "unknown format");
}

Json model_info_json(const ModelFileInfo& info) {
    const auto& u = utf8_or_replacement;
    Json j;
    j["path"] = u(info.path);
    j["container"] = info.container;
    j["architecture"] = u(info.architecture);
    j["file_bytes"] = info.file_bytes;
    j["parameters"] = info.parameters;
    j["tensor_bytes"] = info.tensor_bytes;
    Json md = Json::object();
    for (const auto& [k, v] : info.metadata) md[u(k)] = u(v);
    j["metadata"] = md;
    Json tensors = Json::array();
    for (const auto& t : info.tensors)
        tensors.push_back({{"name", u(t.name)}, {"dtype", t.dtype}, {"shape", t.shape}, {"bytes", t.bytes},
                           {"offset", t.offset}});
    j["tensors"] = tensors;
    return j;
}

void print_model_info(const ModelFileInfo& info, bool with_tensors) {
    // Every string here may come from the file: printable() keeps a crafted one on its line.
    std::map<std::string, std::pair<int, uint64_t>> by_dtype;  // dtype -> tensors, bytes
    for (const auto& t : info.tensors) {
        by_dtype[t.dtype].first += 1;
        by_dtype[t.dtype].second += t.bytes;
    }
    std::string dtypes;
    for (const auto& [d, cb] : by_dtype)
        dtypes += (dtypes.empty() ? "" : ", ") + d + " x" + std::to_string(cb.first) + " (" + fmt_bytes(cb.second) + ")";
    std::printf("file          %s (%s)\n", printable(info.path).c_str(),
                fmt_bytes(static_cast<double>(info.file_bytes)).c_str());
    std::printf("container     %s\n", printable(info.container).c_str());
    std::printf("architecture  %s\n", info.architecture.empty() ? "(not stated)" : printable(info.architecture).c_str());
    std::printf("parameters    %s (%llu)\n", fmt_count(static_cast<double>(info.parameters)).c_str(),
                static_cast<unsigned long long>(info.parameters));
    std::printf("tensors       %zu, %s\n", info.tensors.size(), fmt_bytes(static_cast<double>(info.tensor_bytes)).c_str());
    std::printf("dtypes        %s\n", dtypes.empty() ? "-" : printable(dtypes).c_str());
    if (!info.metadata.empty()) {
        std::printf("\nmetadata (%zu keys)\n", info.metadata.size());
        std::vector<std::pair<std::string, std::string>> shown;
        size_t width = 0;
        for (const auto& [k, v] : info.metadata) {
            shown.emplace_back(printable(k), printable(v));
            width = std::max(width, display_width(shown.back().first));
        }
        width = std::min<size_t>(width, 48);
        for (const auto& [k, v] : shown) {
            const size_t pad = width > display_width(k) ? width - display_width(k) : 0;
            std::printf("  %s%*s  %s\n", k.c_str(), static_cast<int>(pad), "", v.c_str());
        }
    }
    if (!with_tensors || info.tensors.empty()) return;
    std::printf("\n");
    TextTable table({"tensor", "dtype", "shape", "bytes", "offset"});  // escapes its cells
    for (const auto& t : info.tensors)
        table.add_row({t.name, t.dtype, shape_to_string(t.shape), std::to_string(t.bytes), std::to_string(t.offset)});
    table.print();
}

}  // namespace tern
