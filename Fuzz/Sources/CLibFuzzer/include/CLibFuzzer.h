// libFuzzer's driver entry, for fuzz targets whose `main` is their own (see Package.swift).
#ifndef STI_CLIBFUZZER_H
#define STI_CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer with the command line and the per-input callback, as its own `main` would.
/// Defined in libclang_rt.fuzzer, which `-sanitize=fuzzer` links in.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
