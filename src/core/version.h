#pragma once
// The tern version string, recorded in the files tern writes (checkpoints).
namespace tern {
inline constexpr const char* kTernVersion = "0.1.0";
}  // namespace tern
