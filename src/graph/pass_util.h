#pragma once
// What the passes ask of a graph: who reads a value, who produces it.
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tern::graph {

struct ValueUses {
    std::map<std::string, std::vector<size_t>> readers;  // value -> indices of the nodes reading it (once per read)
    std::map<std::string, size_t> producer;              // value -> index of the node writing it
    std::map<std::string, bool> is_output;               // graph outputs

    explicit ValueUses(const Graph& g);
    size_t read_count(const std::string& v) const;
    // True when `v` is read by exactly the one node and is not a graph output.
    bool only_reader(const std::string& v, size_t node) const;
};

// Drops the nodes flagged in `remove` (index-aligned with g.nodes).
void erase_nodes(Graph& g, const std::vector<bool>& remove);
// A name for a new initializer that nothing in `g` uses yet.
std::string fresh_name(const Graph& g, const std::string& base);

}  // namespace tern::graph
