// Only the declaration in include/CLibFuzzer.h matters; SwiftPM wants one source file per C target.
#include "CLibFuzzer.h"
