#pragma once
// Whole-file reads of the small text inputs commands take (prompts, token
// lists, text to score, recipes). A directory or unreadable path is an error
// naming it, never a stream exception such as "basic_filebuf::underflow".
#include <string>

namespace tern {

// The file's bytes. InputError "[PATH] is a directory"; IoError when it cannot
// be opened or read (the reason from the system).
std::string read_whole_file(const std::string& path);

}  // namespace tern
