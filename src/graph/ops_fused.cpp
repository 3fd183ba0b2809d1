// FusedConv: a Conv followed by its activation (written by the
// fuse_conv_activation pass, passes.h). The reference runs the plain Conv
// and then the activation, so it agrees with the unfused graph bit for bit.
#include "graph/fused_activation.h"
#include "graph/op_registry.h"

namespace tern::graph {

namespace {

struct ActName {
    FusedActivation::Kind kind;
    const char* name;
    size_t params;
};
constexpr ActName kActNames[] = {
    {FusedActivation::Kind::relu, "Relu", 0},
    {FusedActivation::Kind::clip, "Clip", 2},
    {FusedActivation::Kind::hard_sigmoid, "HardSigmoid", 2},
    {FusedActivation::Kind::hard_swish, "HardSwish", 2},
    {FusedActivation::Kind::leaky_relu, "LeakyRelu", 1},
    {FusedActivation::Kind::hard_swish_div, "HardSwishDiv", 4},
};

void run_fused_conv(OpContext& c) {
    const FusedActivation act = fused_activation_of(c.node);
    find_op("Conv")(c);
    Tensor& y = c.out[0];
    act.apply(y.data<float>(), y.numel());
}

}  // namespace

FusedActivation fused_activation_of(const Node& n) {
    const std::string name = n.attr_string("activation", "");
    const std::vector<float> p = n.attr_floats("activation_params", {});
    for (const ActName& a : kActNames) {
        if (name != a.name) continue;
        if (p.size() != a.params) {
            throw n.error(format("activation %s needs %zu activation_params, got %zu", a.name, a.params, p.size()));
        }
        FusedActivation f;
        f.kind = a.kind;
        if (!p.empty()) f.a = p[0];
        if (p.size() > 1) f.b = p[1];
        if (p.size() > 3) f.c = p[2], f.d = p[3];
        return f;
    }
    throw n.error("activation '" + name + "' is not one tern fuses (Relu, Clip, HardSigmoid, HardSwish, LeakyRelu, HardSwishDiv)");
}

std::string fused_activation_name(FusedActivation::Kind k) {
    for (const ActName& a : kActNames) {
        if (a.kind == k) return a.name;
    }
    return "";
}

std::vector<OpEntry> fused_ops() { return {{"FusedConv", run_fused_conv}}; }

}  // namespace tern::graph
