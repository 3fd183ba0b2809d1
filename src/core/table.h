#pragma once
// Plain-text tables for the CLI's human output: columns sized to content,
// numbers right-aligned.
#include <string>
#include <vector>

namespace tern {

class TextTable {
public:
    explicit TextTable(std::vector<std::string> header);
    void add_row(std::vector<std::string> row);
    std::string render() const;
    void print() const;  // to stdout

private:
    std::vector<std::string> header_;
    std::vector<std::vector<std::string>> rows_;
};

std::string fmt_fixed(double v, int decimals);
std::string fmt_bytes(double bytes);  // "1.5 MiB"
std::string fmt_count(double n);      // "1.10 B", "5.6 M"

}  // namespace tern
