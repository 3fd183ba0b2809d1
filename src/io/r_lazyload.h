#pragma once
// Character vectors out of an R lazy-load database (`<base>.rdx` + `<base>.rdb`,
// how R packages ship their data sets), without R. Written for the Jane Austen
// corpus in Debian's r-cran-janeaustenr.
//
// The .rdx is a gzip'd R serialization (XDR, format version 2 or 3) of
// list(variables = list(name = c(offset, length), ...), references, compressed).
// Each variable is `length` bytes at `offset` in the .rdb: a 4-byte big-endian
// uncompressed size and a zlib stream (compressed = 1) holding the serialized
// object. Only the types data sets of strings need are understood (vectors,
// pairlists for attributes, symbols, references); anything else is an
// InputError naming the file.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tern {

struct RStringVariable {
    std::string name;
    std::vector<std::string> values;  // NA elements become ""
};

// Every variable of the database that is a character vector, in index order.
std::vector<RStringVariable> read_r_lazyload_strings(const std::string& base_path);

// One serialized R object (the XDR stream a record holds once inflated): its
// elements when it is a character vector, else nothing. InputError(where, ...)
// when the bytes are not a valid serialization. (Fuzz target entry.)
std::vector<std::string> parse_r_serialized_strings(const std::vector<uint8_t>& bytes, const std::string& where);

}  // namespace tern
