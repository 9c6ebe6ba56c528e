/* SPDX-License-Identifier: Apache-2.0 */
/*
 * BTF-defined maps in one line each, so that a program's maps read as a table:
 *
 *   BPF_MAP_DEFINE(name, BPF_MAP_TYPE_HASH, key type, value type, max_entries);
 *   BPF_MAP_DEFINE_FLAGS(name, BPF_MAP_TYPE_LPM_TRIE, key type, value type, max_entries, flags);
 *
 * Each expands to the usual anonymous `struct { __uint(type, ...); ... } name SEC(".maps")`, so
 * the object's BTF (what user space checks its codecs against) is the same as open-coded.
 */
#ifndef BPF_MAP_DEF_H
#define BPF_MAP_DEF_H

#include <bpf/bpf_helpers.h>

#define BPF_MAP_DEFINE(_name, _type, _key, _value, _max_entries) \
	struct {                                                 \
		__uint(type, _type);                             \
		__uint(max_entries, _max_entries);               \
		__type(key, _key);                               \
		__type(value, _value);                           \
	} _name SEC(".maps")

#define BPF_MAP_DEFINE_FLAGS(_name, _type, _key, _value, _max_entries, _flags) \
	struct {                                                               \
		__uint(type, _type);                                           \
		__uint(max_entries, _max_entries);                             \
		__uint(map_flags, _flags);                                     \
		__type(key, _key);                                             \
		__type(value, _value);                                         \
	} _name SEC(".maps")

#endif /* BPF_MAP_DEF_H */
