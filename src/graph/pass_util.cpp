#include "graph/pass_util.h"

namespace tern::graph {

ValueUses::ValueUses(const Graph& g) {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        for (const std::string& in : g.nodes[i].inputs) {
            if (!in.empty()) readers[in].push_back(i);
        }
        for (const std::string& out : g.nodes[i].outputs) {
            if (!out.empty()) producer[out] = i;
        }
    }
    for (const std::string& out : g.outputs) is_output[out] = true;
}

size_t ValueUses::read_count(const std::string& v) const {
    auto it = readers.find(v);
    return it == readers.end() ? 0 : it->second.size();
}

bool ValueUses::only_reader(const std::string& v, size_t node) const {
    if (is_output.count(v)) return false;
    auto it = readers.find(v);
    return it != readers.end() && it->second.size() == 1 && it->second[0] == node;
}

void erase_nodes(Graph& g, const std::vector<bool>& remove) {
    std::vector<Node> kept;
    kept.reserve(g.nodes.size());
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        if (!remove[i]) kept.push_back(std::move(g.nodes[i]));
    }
    g.nodes = std::move(kept);
}

std::string fresh_name(const Graph& g, const std::string& base) {
    std::string name = base;
    for (int k = 1; g.initializers.count(name) || g.values.count(name); ++k) name = base + "_" + std::to_string(k);
    return name;
}

}  // namespace tern::graph
