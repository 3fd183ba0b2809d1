// tern tokenize --tokenizer PATH [--text STR | --file F] [--json] [--decode]
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/mapped_file.h"
#include "core/table.h"
#include "io/tokenizer.h"
#include "io/unicode_text.h"

namespace tern::cli {
namespace {

struct TokenizeOptions {
    std::string tokenizer;
    std::string text;
    std::string file;
    bool json = false;
    bool decode = false;
    bool add_special = false;
    bool no_parse_special = false;
    bool summary = false;
};

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Token pieces can be partial UTF-8 (a byte-level token may hold half a
// character); JSON and the terminal get U+FFFD for each invalid byte.
std::string printable(std::string_view s) {
    std::string out;
    for (size_t pos = 0; pos < s.size();) {
        const unicode::Decoded d = unicode::decode_utf8(s, pos);
        unicode::append_utf8(out, d.cp >= unicode::kInvalidBase ? 0xFFFD : d.cp);
        pos += d.len;
    }
    return out;
}

std::string escaped(std::string_view s) {
    std::string out;
    for (char c : printable(s)) {
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else out.push_back(c);
    }
    return out;
}

std::string read_input(const TokenizeOptions& o) {
    if (!o.text.empty() && !o.file.empty()) throw UsageError("tokenize", "give --text or --file, not both");
    if (o.file.empty()) return o.text;
    try {
        auto f = MappedFile::open(o.file);
        return std::string(reinterpret_cast<const char*>(f->data()), f->size());
    } catch (const IoError& e) {
        throw InputError(o.file, e.detail());
    }
}

std::vector<int32_t> parse_ids(const std::string& s) {
    std::vector<int32_t> ids;
    std::string cur;
    auto flush = [&] {
        if (cur.empty()) return;
        try {
            size_t used = 0;
            const long v = std::stol(cur, &used);
            if (used != cur.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(cur);
            ids.push_back(int32_t(v));
        } catch (const std::exception&) {
            throw InputError("tokenize", "'" + cur + "' is not a token id");
        }
        cur.clear();
    };
    for (char c : s) {
        if (c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '\r' || c == '[' || c == ']') flush();
        else cur.push_back(c);
    }
    flush();
    return ids;
}

void run_decode(const TokenizeOptions& o, const Tokenizer& tok, const std::string& input) {
    const std::vector<int32_t> ids = parse_ids(input);
    const std::string text = tok.decode(ids);
    if (o.json) {
        print_json(Json{{"tokenizer", tok.describe()}, {"count", ids.size()}, {"text", printable(text)}});
    } else {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fputc('\n', stdout);
    }
}

void run_tokenize(const TokenizeOptions& o) {
    if (o.tokenizer.empty()) throw UsageError("tokenize", "--tokenizer PATH is required");
    const std::string input = read_input(o);
    auto t0 = Clock::now();
    const std::unique_ptr<Tokenizer> tok = load_tokenizer(o.tokenizer);
    const double load_ms = ms_since(t0);
    if (o.decode) return run_decode(o, *tok, input);

    t0 = Clock::now();
    const std::vector<int32_t> ids = tok->encode(input, o.add_special, !o.no_parse_special);
    const double encode_ms = ms_since(t0);
    const double secs = std::max(encode_ms, 1e-3) / 1e3;
    const bool round_trip = tok->decode(ids) == input;

    if (o.json) {
        Json j{{"tokenizer", tok->describe()},
               {"load_ms", load_ms},
               {"bytes", input.size()},
               {"count", ids.size()},
               {"encode_ms", encode_ms},
               {"tokens_per_s", ids.size() / secs},
               {"mb_per_s", input.size() / 1e6 / secs},
               {"round_trip", round_trip}};
        if (!o.summary) {
            j["ids"] = ids;
            Json texts = Json::array();
            for (int32_t id : ids) texts.push_back(printable(tok->token_text(id)));
            j["tokens"] = texts;
        }
        print_json(j);
        return;
    }
    std::printf("tokenizer  %s (loaded in %.0f ms)\n", tok->describe().c_str(), load_ms);
    if (!o.summary) {
        if (ids.size() <= 200) {
            TextTable table({"#", "id", "piece"});
            for (size_t i = 0; i < ids.size(); ++i)
                table.add_row({std::to_string(i), std::to_string(ids[i]), "'" + escaped(tok->token_to_piece(ids[i])) + "'"});
            table.print();
        } else {
            std::string line = "ids       ";
            for (int32_t id : ids) line += " " + std::to_string(id);
            std::printf("%s\n", line.c_str());
        }
    }
    std::printf("tokens     %zu from %zu bytes in %.1f ms: %.0f tokens/s, %.1f MB/s\n", ids.size(), input.size(),
                encode_ms, ids.size() / secs, input.size() / 1e6 / secs);
    std::printf("round trip %s\n", round_trip ? "ok (decode(encode(text)) == text)" : "DIFFERS");
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
    auto o = std::make_shared<TokenizeOptions>();
    auto* cmd = app.add_subcommand("tokenize", "Encode text to token ids (or decode ids) with a tokenizer");
    cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json, or a directory with tokenizer.json or encoder.json + vocab.bpe")
        ->required();
    cmd->add_option("--text", o->text, "text to encode (ids to decode with --decode)");
    cmd->add_option("--file", o->file, "read the text (or ids) from this file");
    cmd->add_flag("--decode", o->decode, "the input is token ids; print the text they decode to");
    cmd->add_flag("--add-special", o->add_special, "add the model's BOS/EOS framing");
    cmd->add_flag("--no-parse-special", o->no_parse_special, "treat special-token strings in the text as plain text");
    cmd->add_flag("--summary", o->summary, "print only the count and speed, not the ids");
    cmd->add_flag("--json", o->json, "machine-readable output");
    cmd->callback([o] { run_tokenize(*o); });
}

}  // namespace tern::cli
