#pragma once
// The single entry point for every matrix product in nn/: ops::sgemm
// (ops/sgemm.h), shared with ops::Conv2d.
#include "ops/sgemm.h"

namespace tern::nn {

using ops::sgemm;

}  // namespace tern::nn
