/*
 * fuzz.h - what every fuzz target of tests/fuzz shares.
 *
 * A target is one function, LLVMFuzzerTestOneInput, fed arbitrary bytes. It
 * calls one decoder or parser that reads outside input and then checks
 * properties that must hold for every input (the oracles: a decoded value
 * encodes again, two ways of feeding the same bytes agree...). A broken
 * property aborts, which libFuzzer (or the replay driver) reports as a
 * crash; ASan and UBSan catch memory and undefined-behaviour errors.
 *
 * The same source builds two ways (tests/fuzz/CMakeLists.txt): with
 * libFuzzer (PEACE_FUZZ=ON, clang), and with replay_main.c, which runs the
 * seed corpus once as a ctest test in every build.
 */
#ifndef PEACE_FUZZ_H
#define PEACE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The libFuzzer entry point: returns 0 (the input is kept or not by libFuzzer). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the failed property when cond is false. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            (void)fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif /* PEACE_FUZZ_H */
