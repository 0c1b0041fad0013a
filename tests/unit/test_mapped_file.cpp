// Boot images are mapped, not read: the bytes seen are the file's, an empty
// file is no bytes, and what cannot be mapped is one clear error.
#include "base/mapped_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "temp_dir.hpp"

namespace vessel {
namespace {

std::string error_of(const std::string& path, const char* what) {
  try {
    MappedFile::open(path, what);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(MappedFile, HoldsTheFilesBytes) {
  test::TempDir dir;
  std::vector<uint8_t> bytes(3 * 4096 + 17);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  std::ofstream(dir.file("image"), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  MappedFile file = MappedFile::open(dir.file("image"), "kernel");
  ASSERT_EQ(file.size(), bytes.size());
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), file.bytes().begin()));

  MappedFile moved = std::move(file);  // the mapping moves with it, unmapped once
  EXPECT_TRUE(file.empty());
  EXPECT_EQ(moved.bytes()[4096], bytes[4096]);
}

TEST(MappedFile, AnEmptyFileIsNoBytes) {
  test::TempDir dir;
  std::ofstream(dir.file("empty")).close();
  const MappedFile file = MappedFile::open(dir.file("empty"), "initrd");
  EXPECT_TRUE(file.empty());
  EXPECT_TRUE(file.bytes().empty());
}

TEST(MappedFile, WhatCannotBeMappedIsOneLineNamingIt) {
  test::TempDir dir;
  EXPECT_EQ(error_of(dir.file("missing"), "kernel").rfind("cannot open kernel '", 0), 0u);
  EXPECT_NE(error_of(dir.path(), "initrd").find("initrd '" + dir.path() + "' is a directory"),
            std::string::npos);
  ASSERT_EQ(mkfifo(dir.file("fifo").c_str(), 0600), 0);  // refused, not waited on
  EXPECT_NE(error_of(dir.file("fifo"), "bios").find("is not a regular file"), std::string::npos);
  EXPECT_NE(error_of("/dev/null", "bios").find("is not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace vessel
