#pragma once
// A tensor with its name in a model file; the unit every io reader returns.
#include <string>

#include "core/tensor.h"

namespace tern {

struct NamedTensor {
    std::string name;
    Tensor tensor;  // a read-only view into the mapped file, in its stored dtype
};

}  // namespace tern
