// Writes a file so that readers see either the old content or the complete new one: the bytes
// go to a temporary file in the same directory, are flushed to disk, and are renamed over the
// destination. A failure (or a kill) leaves the previous file untouched.
#pragma once

#include <cstdint>
#include <string>

namespace fernn {

void write_file_atomically(const std::string &path, const std::string &bytes);
// The whole file; an InputError when it cannot be read or holds more than `most` bytes (checked
// before anything is allocated).
std::string read_file_bytes(const std::string &path, uint64_t most = UINT64_MAX);

}  // namespace fernn
