#pragma once
// Binary / ternary layers in a classifier file (metadata "tern.binary"): each
// layer the spec names keeps its weight packed instead of as f32 "<layer>.weight":
//   bwn, xnor  "<layer>.weight.bits"  u8 (out, ceil(in / 8)): weight i of a row is
//              bit i % 8 of byte i / 8, 1 = +alpha, 0 = -alpha
//              "<layer>.weight.alpha" f32 (out)
//   twn, ttq   "<layer>.weight.codes" u8 (out, ceil(in / 4)): weight i of a row is
//              bits 2 (i % 4) .. +1 of byte i / 4: 0 = 0, 1 = +, 3 = -, 2 refused
//              twn: "<layer>.weight.alpha" f32 (out), the + / - magnitude;
//              ttq: the layer's own "<layer>.qat.wp" / "<layer>.qat.wn"
// ("in" is every weight of an output channel: in_channels * kh * kw for a conv.)
// Unpacked, a weight is +-alpha, code * alpha or code (ttq), which the layer's
// op maps to exactly the values it had when written.
#include <cstdint>
#include <string>
#include <vector>

#include "io/named_tensor.h"
#include "nn/modules/binary_layer.h"

namespace tern::nn::train {

// `state` (module_state of a model with the spec's layers) with their weights packed.
std::vector<NamedTensor> pack_binary_tensors(std::vector<NamedTensor> state, const BinarySpec& spec);

// The inverse, for `model` (binarizers attached); InputError(where) naming the
// tensor that is missing, not u8 / f32, of the wrong shape, or holds a bad code
// or scale.
std::vector<NamedTensor> unpack_binary_tensors(const std::vector<NamedTensor>& tensors, const BinarySpec& spec,
                                                   Module& model, const std::string& where);

}  // namespace tern::nn::train
