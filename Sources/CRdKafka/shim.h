#ifndef STI_CRDKAFKA_SHIM_H
#define STI_CRDKAFKA_SHIM_H
// rdkafka.h must come before rdkafka_mock.h: the mock header uses its types.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
