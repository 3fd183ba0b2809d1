#pragma once
// Named temporary files that a SIGINT or SIGTERM must not leave behind. The
// handler only unlinks the registered paths and then lets the signal kill the
// process as it would have (same exit status), so nothing else changes.
#include <string>

namespace tern {

// Registers `path` for removal on SIGINT/SIGTERM; the first call installs the
// handlers, for each signal that still has its default action. Returns a slot
// for unregister_temp_file, or -1 when the table is full or the path too long
// (the file is then simply not cleaned up on a signal).
int register_temp_file(const std::string& path);
// Forget the registration (the file was renamed into place or removed); -1 is ignored.
void unregister_temp_file(int slot);

}  // namespace tern
