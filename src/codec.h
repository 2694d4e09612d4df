/*
 * codec.h — the compact, versioned record encoding of the state (LMDB values).
 *
 * A record is: 1 byte kind, 1 byte version, 8 bytes FNV-1a 64 hash of the
 * payload (little endian), then the payload: fields in a fixed order, each a
 * varint length + bytes (strings; absent = length 0 with a presence flag),
 * varint counts for lists, zig-zag varints for integers. The hash lets a run
 * skip unchanged records without decoding them; the version makes a layout
 * change a clear error (state schema version, docs/state.md), never a misread.
 * Decoding is bounds-checked: a truncated or corrupt record is an error.
 */
#ifndef ATSRECON_CODEC_H
#define ATSRECON_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "ats.h"
#include "contact.h"
#include "util.h"

#define CODEC_HEADER 10
enum codec_kind { CODEC_CANDIDATE = 1, CODEC_CONTACT = 2 };
#define CODEC_CANDIDATE_VERSION 1
#define CODEC_CONTACT_VERSION 1

uint64_t codec_fnv1a(const void *data, size_t len);
/* The hash of what h hashed followed by data (h: CODEC_FNV_START for none). */
#define CODEC_FNV_START 0xcbf29ce484222325ULL
uint64_t codec_fnv1a_more(uint64_t h, const void *data, size_t len);

/* Appends the encoded record to out. */
void codec_candidate_encode(const struct candidate *, struct buf *out);
/* Decodes into *c (zeroed first; free with candidate_free). -1 on a corrupt,
 * truncated, foreign or other-version record. */
int codec_candidate_decode(const void *data, size_t len, struct candidate *c);
/* A Keap contact (contact.h), its content hash included. */
void codec_contact_encode(const struct contact *, struct buf *out);
/* Into *c (zeroed first; free with contact_free); -1 as above. */
int codec_contact_decode(const void *data, size_t len, struct contact *c);
/* The stored content hash (no decoding); 0 if the record is too short. */
uint64_t codec_record_hash(const void *data, size_t len);

#endif
