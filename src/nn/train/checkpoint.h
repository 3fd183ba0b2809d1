#pragma once
// Model and optimizer state as named f32 tensors, for safetensors checkpoints.
// Model tensors use the module's dotted names (parameters, then buffers such
// as "bn1.running_mean"); optimizer state is "optim.<slot>.<parameter name>".
#include <string>
#include <vector>

#include "io/named_tensor.h"
#include "nn/modules/module.h"
#include "nn/optim/optimizer.h"

namespace tern::nn::train {

inline constexpr const char* kOptimPrefix = "optim.";

// The module's parameters and buffers (views of the live tensors).
std::vector<NamedTensor> module_state(const Module& m);
// Copies values into the module. Every parameter and buffer must be present
// with its shape; tensors other than those and "optim.*" are an error. Errors
// are InputError(where, ...) saying the checkpoint does not fit the model.
void load_module_state(Module& m, const std::vector<NamedTensor>& tensors, const std::string& where);

// The optimizer's defined state slots, named after `m`'s parameters (the
// optimizer must have been built over m.parameters(), in that order).
std::vector<NamedTensor> optimizer_state(Optimizer& opt, const Module& m);
// Restores the slots present in `tensors`; slots absent stay undefined (that
// parameter had not been stepped yet).
void load_optimizer_state(Optimizer& opt, const Module& m, const std::vector<NamedTensor>& tensors,
                          const std::string& where);

}  // namespace tern::nn::train
