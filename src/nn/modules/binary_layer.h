#pragma once
// Binary and ternary networks inside nn: a LayerBinarize attached to a Conv2d
// or Linear (through the same hook as a QAT fake quantizer) replaces its weight
// by the binary / ternary one on every forward, and for XNOR-Net its input by
// the binarized one (nn/ops_binary.h). TTQ's learned scales are parameters
// ("<layer>.qat.wp", "<layer>.qat.wn"). A classifier file whose metadata holds
// "tern.binary" stores these layers packed (nn/modules/binary_pack.h).
#include <string>
#include <utility>
#include <vector>

#include "nn/modules/fake_quant.h"

namespace tern::nn {

struct BinarySpec {
    std::string method = "bwn";  // "bwn" | "xnor" (binary) | "twn" | "ttq" (ternary)
    float threshold = 0;         // twn: delta = t * mean |w| (0.7); ttq: delta = t * max |w| (0.05); binary: unused
    bool keep_first_last = true; // the first and last Conv2d / Linear stay full precision, as the papers keep them
    std::vector<std::string> layers;  // the binarized layers (dotted names), set by attach_binarizers
};

bool is_ternary_method(const std::string& method);
float default_binary_threshold(const std::string& method);  // 0.7 twn, 0.05 ttq, 0 binary
// "tern.binary" metadata JSON and back (InputError(where) naming the bad field).
std::string binary_spec_json(const BinarySpec& s);
BinarySpec parse_binary_spec(const std::string& json, const std::string& where);

class LayerBinarize : public LayerFakeQuant {
public:
    // `weight`: the layer's weight now (TTQ starts wp / wn from it).
    LayerBinarize(const BinarySpec& spec, const Tensor& weight);
    Var weight(const Var& w) override;
    Var input(const Var& x) override;  // binarized for "xnor", else x
    // XNOR without gradients: the Linear through kernels/bitserial (popcount of
    // XNORs), y_ij = beta_i alpha_j dot(sign(c_i), sign(w_j)) + b_j; nullopt otherwise.
    std::optional<Var> linear(const Var& x, const Var& w, const Var& bias) override;
    bool use_bitserial = true;  // false: the float path (tests compare the two)

    std::string method;
    float threshold = 0;
    Var wp, wn;  // ttq: learned positive / negative scales (1) each
};

// Attaches a LayerBinarize to the Conv2d / Linear layers the spec selects: the
// names in spec.layers when it has any (a model file; InputError(where) when one
// is not a Conv2d / Linear of the model), else every one but the first and last
// when keep_first_last (spec.layers is then filled in). Throws when none is left.
void attach_binarizers(Module& model, BinarySpec& spec, const std::string& where);
// (dotted layer name, binarizer) in model order.
std::vector<std::pair<std::string, LayerBinarize*>> binary_layers(Module& model);

}  // namespace tern::nn
