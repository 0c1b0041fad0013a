#include "base/safe_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>

#include "base/error.hpp"

namespace vessel {

namespace {

// "a/b/" and "a/b" name the same directory, but a trailing slash makes the
// kernel follow a symlink that O_NOFOLLOW would have refused.
std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// Why a file with this status must not be written as a log, or empty if it
// may.
std::string unusable_as_log(const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return "is a symbolic link";
  if (!S_ISREG(st.st_mode)) return "exists and is not a regular file";
  if (st.st_nlink > 1) return "has other hard links";
  return {};
}

}  // namespace

Directory Directory::open(const std::string& given, bool create) {
  if (given.empty()) fail("directory path is empty");
  const std::string path = without_trailing_slashes(given);
  if (create && ::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    fail("cannot create directory {}: {}", path, errno_text(errno));
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    struct stat st {};
    // Linux answers ENOTDIR, not ELOOP, for a symlink opened with O_DIRECTORY.
    if ((err == ENOTDIR || err == ELOOP) && ::lstat(path.c_str(), &st) == 0 &&
        S_ISLNK(st.st_mode)) {
      fail("{} is a symbolic link; give the directory itself", path);
    }
    fail("cannot open directory {}: {}", path, errno_text(err));
  }
  return Directory(std::move(fd), path);
}

std::string Directory::path_of(const std::string& name) const {
  return path_ == "/" ? "/" + name : path_ + "/" + name;
}

std::vector<std::string> Directory::entries() const {
  // fdopendir takes the descriptor over, so it gets a copy of ours.
  const int copy = ::openat(fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) fail("cannot read directory {}: {}", path_, errno_text(errno));
  const std::unique_ptr<DIR, int (*)(DIR*)> stream(::fdopendir(copy), ::closedir);
  if (!stream) {
    const int err = errno;
    ::close(copy);
    fail("cannot read directory {}: {}", path_, errno_text(err));
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(stream.get())) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  if (errno != 0) fail("cannot read directory {}: {}", path_, errno_text(errno));
  return names;
}

std::optional<struct stat> Directory::stat_entry(const std::string& name) const {
  struct stat st {};
  if (::fstatat(fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return st;
  if (errno == ENOENT) return std::nullopt;
  fail("cannot look at {}: {}", path_of(name), errno_text(errno));
}

void Directory::sync() const {
  (void)::fsync(fd());
}

AtomicFile::AtomicFile(const Directory& dir, std::string name)
    : dir_(dir),
      name_(std::move(name)),
      temp_name_(name_ + ".tmp"),
      temp_path_(dir.path_of(temp_name_)) {
  fd_.reset(::openat(dir_.fd(), temp_name_.c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd_.valid()) {
    if (errno == EEXIST)
      fail("cannot create {}: something by that name is already there", temp_path_);
    fail("cannot create {}: {}", temp_path_, errno_text(errno));
  }
}

AtomicFile::~AtomicFile() {
  // The name is ours: we created it and nobody else should have touched it.
  // unlinkat removes an entry and never follows one, whatever it became.
  if (!committed_) ::unlinkat(dir_.fd(), temp_name_.c_str(), 0);
}

void AtomicFile::write_all(std::span<const uint8_t> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write {}: {}", temp_path_, errno_text(n < 0 ? errno : EIO));
    data = data.subspan(static_cast<size_t>(n));
  }
}

void AtomicFile::sync_and_close() {
  if (::fdatasync(fd_.get()) != 0 || ::close(fd_.release()) != 0) {
    fail("cannot write {}: {}", temp_path_, errno_text(errno));
  }
}

void AtomicFile::rename_into_place() {
  if (::renameat(dir_.fd(), temp_name_.c_str(), dir_.fd(), name_.c_str()) != 0) {
    fail("cannot rename {} to {}: {}", temp_path_, name_, errno_text(errno));
  }
  committed_ = true;
}

void AtomicFile::commit() {
  commit_together({this});
}

void AtomicFile::commit_together(std::initializer_list<AtomicFile*> files) {
  // Every file's data is down before any name changes: a crash leaves each
  // name with either its old file or a complete new one.
  for (AtomicFile* f : files) f->sync_and_close();
  for (AtomicFile* f : files) f->rename_into_place();
  if (files.size() > 0) (*files.begin())->dir_.sync();
}

UniqueFd open_log_file(const Directory& dir, const std::string& name) {
  const std::string path = dir.path_of(name);
  // Looked at before the open only for a clearer message; what was opened is
  // checked again below.
  if (const auto st = dir.stat_entry(name)) {
    const std::string why = unusable_as_log(*st);
    if (!why.empty()) fail("log file {} {}; refusing to write it", path, why);
  }
  // No O_TRUNC here: it would act before the checks below. O_NONBLOCK keeps
  // a FIFO swapped in meanwhile from blocking the open.
  UniqueFd fd(::openat(dir.fd(), name.c_str(),
                       O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    if (errno == ELOOP) fail("log file {} is a symbolic link; refusing to write it", path);
    fail("cannot create log file {}: {}", path, errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("cannot stat log file {}: {}", path, errno_text(errno));
  const std::string why = unusable_as_log(st);
  if (!why.empty()) fail("log file {} {}; refusing to write it", path, why);
  if (::ftruncate(fd.get(), 0) != 0) {
    fail("cannot truncate log file {}: {}", path, errno_text(errno));
  }
  return fd;
}

UniqueFd open_log_file(const std::string& path) {
  const std::filesystem::path p(path);
  if (!p.has_filename()) fail("log file {} names a directory, not a file", path);
  const std::string parent = p.parent_path().string();
  return open_log_file(Directory::open(parent.empty() ? "." : parent), p.filename().string());
}

}  // namespace vessel
