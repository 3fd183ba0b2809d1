// Constant folding, Identity/Dropout removal, dead-node elimination, and
// optimize(), which runs every pass of passes.h.
#include <set>

#include "graph/op_registry.h"
#include "graph/pass_util.h"
#include "graph/passes.h"

namespace tern::graph {

Graph fold_constants(Graph g) {
    std::vector<bool> remove(g.nodes.size(), false);
    for (size_t i : g.topological_order()) {
        const Node& n = g.nodes[i];
        bool constant = true;
        for (const std::string& in : n.inputs) constant = constant && (in.empty() || g.initializers.count(in));
        const OpRun run = find_op(n.op_type);
        if (!constant || !run) continue;
        OpContext ctx{n, g.opset, {}, std::vector<Tensor>(n.outputs.size())};
        for (const std::string& in : n.inputs) ctx.in.push_back(in.empty() ? nullptr : &g.initializers.at(in));
        run(ctx);
        for (size_t k = 0; k < n.outputs.size(); ++k) {
            if (n.outputs[k].empty()) continue;
            if (!ctx.out[k].defined()) throw n.error("output " + std::to_string(k) + " is not produced by tern's " + n.op_type);
            g.initializers[n.outputs[k]] = std::move(ctx.out[k]);
        }
        remove[i] = true;
    }
    erase_nodes(g, remove);
    return g;
}

Graph remove_identities(Graph g) {
    const ValueUses uses(g);
    std::map<std::string, std::string> rename;  // bypassed output -> its source
    std::vector<bool> remove(g.nodes.size(), false);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const Node& n = g.nodes[i];
        if (n.op_type != "Identity" && n.op_type != "Dropout") continue;
        if (n.inputs.empty() || n.inputs[0].empty() || n.outputs.empty() || n.outputs[0].empty()) continue;
        // Dropout's mask output, when read, keeps the node; so does a graph output (its name is the model's).
        if (n.outputs.size() > 1 && !n.outputs[1].empty() && (uses.read_count(n.outputs[1]) || uses.is_output.count(n.outputs[1]))) continue;
        if (n.op_type == "Dropout" && n.attr_int("training_mode", 0) != 0) continue;
        if (uses.is_output.count(n.outputs[0])) continue;
        rename[n.outputs[0]] = n.inputs[0];
        remove[i] = true;
    }
    auto resolve = [&](std::string v) {
        for (auto it = rename.find(v); it != rename.end(); it = rename.find(v)) v = it->second;
        return v;
    };
    for (Node& n : g.nodes) {
        for (std::string& in : n.inputs) {
            if (!in.empty()) in = resolve(in);
        }
    }
    erase_nodes(g, remove);
    return g;
}

Graph eliminate_dead_nodes(Graph g) {
    std::set<std::string> live(g.outputs.begin(), g.outputs.end());
    std::vector<bool> remove(g.nodes.size(), true);
    const std::vector<size_t> order = g.topological_order();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const Node& n = g.nodes[*it];
        bool needed = false;
        for (const std::string& out : n.outputs) needed = needed || (!out.empty() && live.count(out));
        if (!needed) continue;
        remove[*it] = false;
        for (const std::string& in : n.inputs) {
            if (!in.empty()) live.insert(in);
        }
    }
    erase_nodes(g, remove);
    for (auto it = g.initializers.begin(); it != g.initializers.end();) {
        it = live.count(it->first) ? std::next(it) : g.initializers.erase(it);
    }
    return g;
}

Graph optimize(Graph g) {
    g = eliminate_dead_nodes(remove_identities(fold_constants(std::move(g))));
    g = eliminate_dead_nodes(fuse_conv_activation(fold_batch_norm(std::move(g))));
    return g;
}

}  // namespace tern::graph
