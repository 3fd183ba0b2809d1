// printable(): what a terminal would act on is escaped, readable text is kept.
#include <gtest/gtest.h>

#include <string>

#include "core/printable.h"
#include "core/table.h"

namespace tern {
namespace {

TEST(Printable, KeepsAsciiAndValidUtf8) {
    EXPECT_EQ(printable("blk.0.attn_q.weight"), "blk.0.attn_q.weight");
    EXPECT_EQ(printable("\xc4\xa0the"), "\xc4\xa0the");                  // byte-level BPE 'Ġthe'
    EXPECT_EQ(printable("\xe6\x97\xa5\xe6\x9c\xac"), "\xe6\x97\xa5\xe6\x9c\xac");  // CJK
    EXPECT_EQ(printable("\xf0\x9f\x98\x80 caf\xc3\xa9"), "\xf0\x9f\x98\x80 caf\xc3\xa9");
    EXPECT_EQ(printable("a\\x1b"), "a\\x1b");  // a literal backslash stays as written
}

TEST(Printable, EscapesC0AndDel) {
    EXPECT_EQ(printable("\x1b[2J\x1b[31mred"), "\\x1b[2J\\x1b[31mred");
    EXPECT_EQ(printable("a\nb\tc\rd"), "a\\nb\\tc\\rd");
    EXPECT_EQ(printable(std::string("nul\0x", 5)), "nul\\x00x");
    EXPECT_EQ(printable("\x7f\x07"), "\\x7f\\x07");
}

TEST(Printable, EscapesC1BidiAndInvalidUtf8) {
    EXPECT_EQ(printable("\xc2\x9b" "31m"), "\\u009b31m");           // CSI as a UTF-8 code point
    EXPECT_EQ(printable("\x9b" "31m"), "\\x9b31m");                 // CSI as a raw 8-bit byte
    EXPECT_EQ(printable("x\xe2\x80\xae" "fdp.exe"), "x\\u202efdp.exe");  // right-to-left override
    EXPECT_EQ(printable("\xe2\x80\xa8"), "\\u2028");                // line separator
    EXPECT_EQ(printable("\xc3"), "\\xc3");                          // truncated sequence
    EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                 // overlong '/'
    EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");        // surrogate
    EXPECT_EQ(printable("\xff\xfe"), "\\xff\\xfe");
}

TEST(Printable, DisplayWidthCountsCodePoints) {
    EXPECT_EQ(display_width("abc"), 3u);
    EXPECT_EQ(display_width("\xc4\xa0" "a"), 2u);
    EXPECT_EQ(display_width("\xff" "a"), 2u);
}

TEST(TextTableHostile, CellsAreEscapedAndAlignedByCodePoints) {
    TextTable t({"name", "n"});
    t.add_row({"\x1b]0;owned\x07\nnext", "1"});
    t.add_row({"\xc4\xa0x", "22"});
    const std::string s = t.render();
    for (unsigned char c : s) EXPECT_TRUE(c == '\n' || c >= 0x20) << static_cast<int>(c);
    int lines = 0;
    for (char c : s) lines += c == '\n';
    EXPECT_EQ(lines, 4);  // header, rule, two rows
    EXPECT_NE(s.find("\\x1b]0;owned\\x07\\nnext"), std::string::npos) << s;
    // 'Ġx' is two columns wide, so its number lines up with the row above.
    EXPECT_NE(s.find("\xc4\xa0x" + std::string(22, ' ') + "22\n"), std::string::npos) << s;
}

}  // namespace
}  // namespace tern
