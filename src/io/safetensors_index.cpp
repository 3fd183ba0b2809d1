// Sharded safetensors checkpoints: model.safetensors.index.json maps each
// tensor name to the shard file that holds it.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "io/safetensors.h"

namespace tern::io {
namespace {

// Shard names come from the file; keep them inside the checkpoint's folder.
void check_shard_name(const std::string& shard, const std::string& where) {
    const std::filesystem::path p(shard);
    bool escapes = shard.empty() || p.is_absolute();
    for (const auto& part : p)
        if (part == "..") escapes = true;
    if (escapes) throw InputError(where, "weight_map names shard '" + shard + "' outside the checkpoint folder");
}

}  // namespace

SafetensorsModel read_safetensors_index(const std::string& index_path) {
    auto index_file = MappedFile::open(index_path);
    if (index_file->size() > kSafetensorsMaxHeaderBytes)
        throw InputError(index_path, "index json is larger than the 100 MB limit");
    nlohmann::json index;
    try {
        const auto* p = reinterpret_cast<const char*>(index_file->data());
        index = nlohmann::json::parse(p, p + index_file->size());
    } catch (const nlohmann::json::exception& e) {
        throw InputError(index_path, std::string("not valid JSON: ") + e.what());
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
        throw InputError(index_path, "no \"weight_map\" object (not a safetensors index)");

    // shard file -> tensor names the map puts there; std::map keeps shard order stable.
    std::map<std::string, std::set<std::string>> shards;
    for (const auto& [name, shard] : index["weight_map"].items()) {
        if (!shard.is_string()) throw InputError(index_path, "weight_map entry '" + name + "' is not a file name");
        check_shard_name(shard.get<std::string>(), index_path);
        shards[shard.get<std::string>()].insert(name);
    }
    SafetensorsModel m;
    if (index.contains("metadata") && index["metadata"].is_object())
        for (const auto& [k, v] : index["metadata"].items())
            m.index_metadata.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());

    const std::filesystem::path folder = std::filesystem::path(index_path).parent_path();
    std::set<std::string> seen;
    for (const auto& [shard, names] : shards) {
        const std::string shard_path = (folder / shard).string();
        SafetensorsModel one = read_safetensors(shard_path);
        std::set<std::string> present;
        for (auto& nt : one.tensors) {
            if (!seen.insert(nt.name).second)
                throw InputError(shard_path, "tensor '" + nt.name + "' also appears in another shard");
            present.insert(nt.name);
            m.tensors.push_back(std::move(nt));
        }
        for (const auto& name : names)
            if (!present.count(name))
                throw InputError(index_path, "tensor '" + name + "' is mapped to " + shard + " but is not in it");
        m.paths.push_back(shard_path);
        m.files.push_back(std::move(one.files.front()));
        m.infos.push_back(std::move(one.infos.front()));
    }
    return m;
}

}  // namespace tern::io
