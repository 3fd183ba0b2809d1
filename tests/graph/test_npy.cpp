// io/npy: round trip of every plain dtype, and hostile headers refused with
// one InputError naming the file (never a crash or an oversized allocation).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "io/npy.h"

namespace tern {
namespace {

std::span<const uint8_t> as_bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string npy_bytes(const std::string& header, size_t data_bytes) {
    std::string out = "\x93NUMPY\x01";
    out += '\0';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    return out + header + std::string(data_bytes, '\0');
}

TEST(Npy, RoundTripsShapeDtypeAndValues) {
    const std::string path = ::testing::TempDir() + "tern_npy_roundtrip.npy";
    const Tensor f = Tensor::from_floats({2, 3}, std::vector<float>{1, -2, 3.5f, 0, 1e-8f, 7});
    write_npy(path, f);
    const Tensor back = read_npy(path);
    EXPECT_EQ(back.dtype(), DType::f32);
    EXPECT_EQ(back.shape(), f.shape());
    EXPECT_EQ(std::memcmp(back.raw_data(), f.raw_data(), f.nbytes()), 0);
    for (const Shape& s : {Shape{}, Shape{5}, Shape{0, 4}}) {
        Tensor t = Tensor::zeros(s, DType::i64);
        write_npy(path, t);
        const Tensor r = read_npy(path);
        EXPECT_EQ(r.shape(), s) << shape_to_string(s);
        EXPECT_EQ(r.dtype(), DType::i64);
    }
    std::remove(path.c_str());
}

TEST(Npy, ReadsWhatNumpyWrites) {
    // numpy 1.x's exact header for np.zeros((1, 3), np.float32), padded to 64 bytes.
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }";
    header.append(64 - (10 + header.size() + 1) % 64, ' ');
    header += '\n';
    const Tensor t = parse_npy(as_bytes(npy_bytes(header, 12)), "np.npy");
    EXPECT_EQ(t.shape(), (Shape{1, 3}));
}

TEST(Npy, HostileHeadersAreInputErrorsNamingTheFile) {
    const struct {
        std::string bytes, expect;
    } cases[] = {
        {"not npy at all", "not a .npy file"},
        {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000), }", 8),
         "needs 4000000000000000000 data bytes, the file has 8"},
        {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 0),
         "npy shape dim is too large"},
        {npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4), "npy dtype '>f4' is not supported"},
        {npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 4), "Fortran order"},
        {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 4), "needs 8 data bytes, the file has 4"},
        {npy_bytes("{'descr': '<f4', 'fortran_order': False}", 0), "no 'shape' entry"},
        {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }", 4), "something other than dims"},
        {std::string("\x93NUMPY\x01\x00\xff\xff", 10), "header runs past the end"},
    };
    for (const auto& c : cases) {
        try {
            parse_npy(as_bytes(c.bytes), "bad.npy");
            ADD_FAILURE() << "accepted: " << c.expect;
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find("[bad.npy] "), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace tern
