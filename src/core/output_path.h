#pragma once
// Refuses an output path before a command spends minutes computing what it
// would write there: a missing or read-only folder, a name too long for the
// filesystem, or a file the command reads (tern train --out RECIPE.json).
#include <string>
#include <vector>

namespace tern {

// Throws IoError when `path` (and each `path + suffix` sidecar) could not be
// created, and UsageError when one of them is one of `inputs` (the same file
// by device and inode, or the same canonical path). Empty inputs are skipped.
void check_output_path(const std::string& path, const std::vector<std::string>& inputs = {},
                       const std::vector<std::string>& sidecar_suffixes = {});

// True when `a` and `b` name the same file (same inode when both exist).
bool same_file(const std::string& a, const std::string& b);

}  // namespace tern
