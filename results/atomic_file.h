#pragma once
// Replacing a file so that a reader, or a process killed at any instant, finds either the old
// content or the new one, never a mix:
//
//   write <target>.tmp ──fsync──▶ rename over <target> ──fsync the folder──▶ published
//
// rename() replaces the name in one step, so a kill before it leaves the old file (plus a stray
// .tmp, which the next write truncates) and a kill after it leaves the new one. The first fsync
// makes the bytes durable before the name points at them (else a power cut could leave a renamed
// but empty file); the second makes the rename itself durable.
//
// Every failure is a WriteError naming the file the failing step worked on.

#include <cstddef>
#include <filesystem>

#include "results/errors.h"

namespace tbptt::results {

// <target>.tmp: where the next version of `target` is written before it is renamed.
std::filesystem::path temporary_file(const std::filesystem::path& target);

// Writes `size` bytes to <target>.tmp and publishes them as `target`. On failure the .tmp is
// removed and `target` is untouched.
void write_atomically(const std::filesystem::path& target, const void* data, std::size_t size);

// Publishes `written` (a complete, closed file, usually temporary_file(target)) as `target`.
void commit_file(const std::filesystem::path& written, const std::filesystem::path& target);

// rename() plus an fsync of the folder, so the new name survives a power cut.
void rename_durably(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace tbptt::results
