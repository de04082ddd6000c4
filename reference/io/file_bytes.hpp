// Whole-file reads and atomic writes, shared by the npy/npz/jpg/yml readers and writers.
#pragma once
#include <string>

namespace amt::io {

// The whole file as bytes; amt::IoError naming the file when it cannot be opened or read.
std::string read_file_bytes(const std::string& path);

// Writes PATH.tmp.<pid>, fsyncs it (when `sync`) and renames it over PATH, so a crash never leaves a
// half-written file under PATH. amt::IoError naming the file on any failure (the temporary file is removed).
// Generators that write thousands of small files pass sync = false: the rename still keeps every file whole,
// and a lost file after a power cut is regenerated, not lost data.
void write_file_atomic(const std::string& path, const std::string& bytes, bool sync = true);

// fsyncs the folder `dir`, so names created or renamed in it survive a power loss (best effort: a folder
// that cannot be opened is skipped, the files in it are already durable).
void sync_directory(const std::string& dir);
// sync_directory of the folder holding `path`.
void sync_parent_directory(const std::string& path);

}  // namespace amt::io
