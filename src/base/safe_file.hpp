// Creating files where someone else may have been first. vessel often runs as
// root, and a snapshot or console directory may hold a symbolic link or a
// file that another local user planted there, waiting to be written through.
// Every file vessel creates goes through here:
//  - relative to a directory opened once (Directory), so a path component
//    swapped for a symlink meanwhile changes nothing;
//  - with O_CREAT | O_EXCL | O_NOFOLLOW: never through a symlink, never into
//    a file that is already there (O_EXCL refuses a dangling symlink too);
//  - mode 0600: snapshots and console logs hold what the guest holds;
//  - a complete file is renamed into place with renameat within the same
//    directory, which replaces a directory entry and never writes through it.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.hpp"

namespace vessel {

class Directory {
 public:
  // Opens the directory `path`; with `create`, makes it first (mode 0700) if
  // it is missing. Its last component must not be a symbolic link (the
  // components above it are followed, as for any path). Throws Error.
  static Directory open(const std::string& path, bool create = false);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // `path`/`name`, for messages.
  std::string path_of(const std::string& name) const;
  // The names it holds, without "." and "..".
  std::vector<std::string> entries() const;
  // The entry itself (a symlink is not followed); nullopt if there is none.
  std::optional<struct stat> stat_entry(const std::string& name) const;
  // Makes the renames done in it durable. Best effort: the files are
  // complete under their names either way.
  void sync() const;

 private:
  Directory(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

// A file that appears under its name only once complete: written as
// NAME.tmp, made durable, then renamed over NAME. A crash leaves the old
// file or the new one, never half of one; a process that has the old file
// open or mapped keeps seeing the old contents.
class AtomicFile {
 public:
  // Creates `dir`/`name`.tmp, exclusively and with mode 0600. Throws Error if
  // anything by that name is already there. `dir` must outlive the file.
  AtomicFile(const Directory& dir, std::string name);
  // Without commit(), the temporary is removed.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  int fd() const { return fd_.get(); }
  // The temporary's path, for messages.
  const std::string& temp_path() const { return temp_path_; }
  void write_all(std::span<const uint8_t> data);
  // fdatasync, close, rename over `name`, sync the directory. Throws Error.
  void commit();
  // The same for several files of one directory, with one directory sync
  // for all: each is synced and closed, then each renamed in the order
  // given (a snapshot's state.bin and memory.bin). Throws Error.
  static void commit_together(std::initializer_list<AtomicFile*> files);

 private:
  const Directory& dir_;
  std::string name_;
  std::string temp_name_;
  std::string temp_path_;
  void sync_and_close();
  void rename_into_place();

  UniqueFd fd_;
  bool committed_ = false;
};

// Opens `dir`/`name` to write a log: created (mode 0600) if missing; an
// existing regular file is truncated, as QEMU's `-serial file:` does. A
// symlink, anything but a regular file, or a file with other hard links (its
// contents are someone else's too) is refused with an Error.
UniqueFd open_log_file(const Directory& dir, const std::string& name);
// The same for a path: its directory opened first.
UniqueFd open_log_file(const std::string& path);

}  // namespace vessel
