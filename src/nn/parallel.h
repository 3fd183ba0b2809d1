#pragma once
// nn's parallel loop is the operators' (ops/parallel.h): one grain rule for
// training and inference.
#include "ops/parallel.h"

namespace tern::nn {

using ops::kMinParallelWork;
using ops::parallel_items;

}  // namespace tern::nn
