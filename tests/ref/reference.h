#pragma once
// The one way a test reports that an independent reference (ggml, libllama,
// PyTorch, the JS/SentencePiece tokenizers, a data set) cannot run:
//
//   TERN_REQUIRE_REFERENCE(some_reference());       // a Reference (reference_state.h)
//   if (!have_x()) TERN_MISSING_REFERENCE() << "x not installed (run scripts/setup.sh)";
//
// A reference that is absent skips the test, unless TERN_REQUIRE_REFERENCES=1
// (scripts/test.sh and .ci/run set it): then it fails, so a CI run can never
// pass while quietly comparing against nothing. A reference that is present
// but broken (a library that exists and will not dlopen, a symbol missing, a
// script that exists and errors) always fails: that is not "not installed".
#include <gtest/gtest.h>

#include "reference_state.h"

namespace tern::testref {

// How an absent reference is reported: a skip, or a fatal failure under TERN_REQUIRE_REFERENCES.
inline ::testing::TestPartResult::Type missing_reference_result() {
    return references_required() ? ::testing::TestPartResult::kFatalFailure : ::testing::TestPartResult::kSkip;
}
inline ::testing::TestPartResult::Type reference_result(const Reference& r) {
    return r.state == Reference::State::broken ? ::testing::TestPartResult::kFatalFailure : missing_reference_result();
}

}  // namespace tern::testref

// Both return from the enclosing void function (test body, SetUp or helper),
// like GTEST_SKIP / FAIL, and accept `<< more context`.
#define TERN_MISSING_REFERENCE()                                                                             \
    return ::testing::internal::AssertHelper(::tern::testref::missing_reference_result(), __FILE__, __LINE__, \
                                             ::tern::testref::missing_reference_prefix()) = ::testing::Message()

#define TERN_REQUIRE_REFERENCE(reference)                                                              \
    switch (0)                                                                                         \
    case 0:                                                                                            \
    default:                                                                                           \
        if (const ::tern::testref::Reference tern_reference_ = (reference); tern_reference_.usable()) { \
        } else                                                                                         \
            return ::testing::internal::AssertHelper(::tern::testref::reference_result(tern_reference_), \
                                                     __FILE__, __LINE__, tern_reference_.message().c_str()) = \
                       ::testing::Message()
