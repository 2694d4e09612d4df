/*
 * wire.h — what the fuzz targets share: the fuzzer's bytes as the answers of
 * the network, and as files.
 *
 * The targets are linked with --wrap for http_run, http_call, http_do and
 * sleep_ms (Makefile FUZZWRAP), so every request the code under test makes is
 * answered here, in order, from the input, and nothing sleeps. Everything
 * else of http.c (header lookup, Retry-After parsing, URL encoding) is the
 * real code, and a request's pacer sees every answer (pace.c's header
 * parsing runs on the fuzzer's headers).
 *
 * Input format (seeds stay readable; a dictionary gives the fuzzer the
 * separators): answers separated by a line "==", each
 *
 *     STATUS              three digits (else: 200, and the whole part is the body)
 *     Name: value         header lines, up to an empty line
 *
 *     body
 *
 * A part that starts with "!" is a transport failure (connection reset).
 * When the answers run out, every further request fails to connect.
 *
 * Seeds: with FUZZ_RECORD=FILE a target's requests go to the real network
 * (the test fakes, URLs from the ATSRECON_TEST_* variables) and the answers
 * are written to FILE in this format (tests/fuzz/record.sh).
 */
#ifndef ATSRECON_FUZZ_WIRE_H
#define ATSRECON_FUZZ_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Splits data into the answers the next requests get (replaces any left). */
void wire_load(const uint8_t *data, size_t size);
/* Frees what is left. */
void wire_reset(void);
/* Requests answered since the last wire_load. */
size_t wire_requests(void);

struct config;
struct http;

/* One struct http for the process (the real http_new: its CA is
 * $ATSRECON_TEST_CA when recording). */
struct http *fuzz_http(void);
/* A configuration from "ATSRECON_...=value" strings (NULL-terminated), as
 * the binary's environment layer reads them, then config_finish. */
enum rc fuzz_config(struct config *, const char *const *kv);
/* The same from a configuration file's text (JSON with comments). */
enum rc fuzz_config_text(struct config *, const char *text, size_t len);
/* The origin of every URL the targets call when replaying; a recording
 * writes the fake's origin as this. */
#define FUZZ_REPLAY_ORIGIN "https://fuzz.invalid"
/* When recording (FUZZ_RECORD set): $testvar (a fake's root URL), else dflt
 * (FUZZ_REPLAY_ORIGIN). */
const char *fuzz_url(const char *testvar, const char *dflt);

/* Quiet, but complete, logging: every level is formatted (escaping runs on
 * hostile text) and written to /dev/null; FUZZ_LOG=1 in the environment
 * sends it to stderr instead. Call once. */
void fuzz_quiet_logs(void);

/* A memory file holding data (a memfd); *path receives "/proc/self/fd/N".
 * Returns the fd (close it when done) or -1. */
int fuzz_memfile(const void *data, size_t size, char path[64]);

#endif
