// The record/replay log (vm/replay_log.hpp): round trip, and the one clear
// error a corrupted, truncated or foreign log gets.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "temp_dir.hpp"
#include "vm/elf_loader.hpp"
#include "vm/replay_log.hpp"

namespace vessel::replay {
namespace {

struct Written {
  Kind kind;
  uint64_t instructions;
  uint64_t sub;
  std::vector<uint8_t> payload;
};

std::vector<Written> sample_records() {
  std::vector<Written> out;
  out.push_back({Kind::kConsole, 1000, 0, {'l', 's', '\n'}});
  out.push_back({Kind::kRng, 1000, 0, std::vector<uint8_t>(64, 0xab)});
  out.push_back({Kind::kConsoleRead, 1000, 3, {}});
  std::vector<uint8_t> frame(1500);
  for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(i * 7);
  PayloadWriter net;
  net.varint(0);
  net.bytes(frame);
  out.push_back({Kind::kNet, 123456789, 0, net.data()});
  // A disk read larger than a block: the record spans blocks.
  DiskCompletion read{5, 600000, std::vector<uint8_t>(600000)};
  for (size_t i = 0; i < read.data.size(); ++i) read.data[i] = static_cast<uint8_t>(i ^ (i >> 9));
  const DiskCompletion write{6, 4096, {}};
  const DiskCompletion failed{7, -5, {}};
  out.push_back({Kind::kDisk, 200000000, 1, encode_disk(1, std::vector{read, write, failed})});
  Checkpoint cp;
  cp.parts = {{"machine", 1}, {"hart0", 2}, {"uart", 3}};
  cp.pcs = {0xffffffff80001234};
  cp.console_bytes = 42;
  cp.console_hash = 99;
  out.push_back({Kind::kCheckpoint, 1ull << 28, 0, encode_checkpoint(cp)});
  out.push_back({Kind::kEnd, 300000000, 0, encode_end({7, false, 300000123, "00ff"})});
  return out;
}

std::vector<uint8_t> write_log(const test::TempDir& dir, const std::vector<Written>& records) {
  const std::string path = dir.file("log.bin");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  EXPECT_GE(fd, 0);
  {
    LogWriter writer(fd, path, {{"format", "vessel-replay"}, {"checkpoint_interval", 16}});
    for (const Written& w : records) writer.append(w.kind, w.instructions, w.sub, w.payload);
  }
  return read_file(path, "log");
}

std::string error_of(std::vector<uint8_t> file) {
  try {
    LogReader reader(std::move(file), "log.bin");
    reader.validate();
  } catch (const LogError& e) {
    return e.what();
  }
  return "";
}

TEST(ReplayLog, RoundTrip) {
  test::TempDir dir;
  const auto records = sample_records();
  const auto file = write_log(dir, records);
  LogReader reader(file, "log.bin");
  EXPECT_EQ(reader.header().value("checkpoint_interval", 0), 16);
  for (const Written& w : records) {
    const auto r = reader.next();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->kind, w.kind);
    EXPECT_EQ(r->instructions, w.instructions);
    EXPECT_EQ(r->sub, w.sub);
    EXPECT_EQ(r->payload, w.payload);
  }
  EXPECT_FALSE(reader.next().has_value());
  LogReader again(file, "log.bin");
  EXPECT_EQ(again.validate(), records.size());
}

// Reverse debugging goes back to where a record started: from every record
// boundary (including one inside a block that a large record spans), the
// rest of the log reads the same after a seek, also from a fresh reader.
TEST(ReplayLog, SeekBackToEveryRecord) {
  test::TempDir dir;
  auto records = sample_records();
  // Many small records too, so that blocks hold several.
  for (uint64_t i = 0; i < 3000; ++i) {
    records.insert(records.end() - 1,
                   Written{Kind::kRng, 300000000 + i, 0, std::vector<uint8_t>(97, uint8_t(i))});
  }
  records.back().instructions = 400000000;
  const auto file = write_log(dir, records);
  LogReader reader(file, "log.bin");
  std::vector<LogReader::Position> at;
  for (size_t i = 0; i < records.size(); ++i) {
    at.push_back(reader.tell());
    ASSERT_TRUE(reader.next().has_value());
  }
  EXPECT_FALSE(reader.next().has_value());
  for (size_t i : {size_t{0}, size_t{4}, size_t{5}, size_t{6}, size_t{100}, size_t{2000},
                   records.size() - 1}) {
    for (LogReader* r : {&reader}) {
      r->seek(at[i]);
      for (size_t j = i; j < records.size(); ++j) {
        const auto got = r->next();
        ASSERT_TRUE(got.has_value()) << "from " << i << " at " << j;
        EXPECT_EQ(got->kind, records[j].kind);
        EXPECT_EQ(got->instructions, records[j].instructions);
        EXPECT_EQ(got->payload, records[j].payload) << "from " << i << " at " << j;
      }
      EXPECT_FALSE(r->next().has_value());
    }
    LogReader fresh(file, "log.bin");
    fresh.seek(at[i]);
    const auto got = fresh.next();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->instructions, records[i].instructions);
  }
  // After the end record: nothing more, from the position after it too.
  reader.seek(at.back());
  ASSERT_TRUE(reader.next().has_value());
  const LogReader::Position end = reader.tell();
  reader.seek(end);
  EXPECT_FALSE(reader.next().has_value());
}

// A position that is not of this log is an error, never a crash.
TEST(ReplayLog, SeekOutsideTheLogIsAnError) {
  test::TempDir dir;
  const auto file = write_log(dir, sample_records());
  LogReader reader(file, "log.bin");
  EXPECT_THROW(reader.seek({file.size() + 1, 0, 0, false}), LogError);
  EXPECT_THROW(reader.seek({1, 5, 0, false}), LogError);  // not a block
}

TEST(ReplayLog, PayloadsRoundTrip) {
  const auto records = sample_records();
  uint64_t disk = 0;
  const auto done = decode_disk(records[4].payload, disk);
  EXPECT_EQ(disk, 1u);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0].data.size(), 600000u);
  EXPECT_EQ(done[2].result, -5);
  const Checkpoint cp = decode_checkpoint(records[5].payload);
  EXPECT_EQ(describe_difference(cp, cp), "");
  Checkpoint other = cp;
  other.parts[2].hash = 4;
  other.pcs[0] = 0x80000000;
  const std::string diff = describe_difference(cp, other);
  EXPECT_NE(diff.find("hart0 pc 0xffffffff80001234 in the recording, 0x80000000 now"),
            std::string::npos)
      << diff;
  EXPECT_NE(diff.find("state of uart"), std::string::npos) << diff;
  const End stopped = decode_end(encode_end({0, false, 5, "ab", /*stopped=*/true}));
  EXPECT_TRUE(stopped.stopped);
  EXPECT_FALSE(stopped.by_host);
  const End end = decode_end(records[6].payload);
  EXPECT_FALSE(end.stopped);
  EXPECT_EQ(end.status, 7);
  EXPECT_EQ(end.instructions, 300000123u);
  EXPECT_EQ(end.state_hash, "00ff");
}

// What a reader makes of a whole file: the records it read, whether it
// found the log cut, or its error.
struct ReadOut {
  std::vector<Record> records;
  bool cut = false;
  std::string error;
};
ReadOut read_all(std::vector<uint8_t> file) {
  ReadOut out;
  try {
    LogReader reader(std::move(file), "log.bin");
    while (auto r = reader.next()) out.records.push_back(std::move(*r));
    out.cut = reader.cut();
  } catch (const LogError& e) {
    out.error = e.what();
  }
  return out;
}

// A killed recording: cut anywhere after the file header, the log reads as
// the records before the cut (those whole), then says it was cut; the more
// is kept, the more is read. Cut inside the file header: one clear error.
TEST(ReplayLog, EveryTruncationReadsUpToTheCut) {
  test::TempDir dir;
  const auto records = sample_records();
  const auto file = write_log(dir, records);
  const size_t header_end =
      16 +
      nlohmann::json({{"format", "vessel-replay"}, {"checkpoint_interval", 16}}).dump().size() + 8;
  size_t last = 0;
  for (size_t cut = 0; cut < file.size(); cut += 97) {
    const ReadOut got = read_all({file.begin(), file.begin() + static_cast<ptrdiff_t>(cut)});
    if (cut < header_end) {
      EXPECT_NE(got.error.find("replay log log.bin: "), std::string::npos) << got.error;
      EXPECT_EQ(got.error.find('\n'), std::string::npos) << got.error;  // one line
      continue;
    }
    ASSERT_EQ(got.error, "") << "cut at " << cut;
    EXPECT_TRUE(got.cut) << "cut at " << cut;
    ASSERT_LT(got.records.size(), records.size());
    EXPECT_GE(got.records.size(), last) << "cut at " << cut;
    last = got.records.size();
    for (size_t i = 0; i < got.records.size(); ++i) {
      EXPECT_EQ(got.records[i].instructions, records[i].instructions);
      EXPECT_EQ(got.records[i].payload, records[i].payload);
    }
  }
  EXPECT_GT(last, 0u);  // the records before the last block were read
  // Whole: not cut.
  const ReadOut whole = read_all(file);
  EXPECT_EQ(whole.error, "");
  EXPECT_FALSE(whole.cut);
  EXPECT_EQ(whole.records.size(), records.size());
  // Nothing after the header: cut at instruction 0.
  const ReadOut empty = read_all(write_log(dir, {}));
  EXPECT_TRUE(empty.cut);
  EXPECT_TRUE(empty.records.empty());
  // A tail the file system allocated and never wrote (zeros): a cut too.
  auto zeros = file;
  zeros.resize(file.size() - 100);
  zeros.resize(file.size() + 4096, 0);
  const ReadOut z = read_all(zeros);
  EXPECT_EQ(z.error, "");
  EXPECT_TRUE(z.cut);
}

TEST(ReplayLog, CorruptionIsReportedWithItsPosition) {
  test::TempDir dir;
  const auto file = write_log(dir, sample_records());
  // Any byte of a block changed: the block's checksum says so.
  for (size_t at = 200; at < file.size(); at += file.size() / 7) {
    auto bad = file;
    bad[at] ^= 0x20;
    const std::string e = error_of(bad);
    EXPECT_NE(e, "") << "byte " << at;
    EXPECT_NE(e.find("corrupted"), std::string::npos) << e;
    EXPECT_NE(e.find("after instruction"), std::string::npos) << e;
  }
  auto header = file;
  header[20] ^= 1;  // inside the JSON
  EXPECT_NE(error_of(header).find("file header checksum mismatch"), std::string::npos);
  auto magic = file;
  magic[0] = 'X';
  EXPECT_NE(error_of(magic).find("not a vessel replay log"), std::string::npos);
}

TEST(ReplayLog, OtherVersionIsRefused) {
  test::TempDir dir;
  auto file = write_log(dir, sample_records());
  file[8] = 2;  // the version, little-endian after the magic
  const std::string e = error_of(file);
  EXPECT_NE(e.find("log format version 2, this vessel reads version 1"), std::string::npos) << e;
}

TEST(ReplayLog, MalformedRecordsInAValidFile) {
  const nlohmann::json header = {{"format", "vessel-replay"}};
  // Unknown kind.
  EXPECT_NE(error_of(build_log_file(header, std::vector<uint8_t>{99, 0, 0, 0}))
                .find("unknown record kind 99"),
            std::string::npos);
  // A record longer than the file: the log was cut inside it, and the
  // record is dropped.
  const ReadOut longer =
      read_all(build_log_file(header, std::vector<uint8_t>{1, 5, 0, 0x80, 0x80, 1}));
  EXPECT_EQ(longer.error, "");
  EXPECT_TRUE(longer.cut);
  EXPECT_TRUE(longer.records.empty());
  // A varint of more than 64 bits.
  std::vector<uint8_t> big = {1};
  for (int i = 0; i < 11; ++i) big.push_back(0xff);
  EXPECT_NE(error_of(build_log_file(header, big)).find("corrupted"), std::string::npos);
  // A disk record whose completion count is a lie.
  std::vector<uint8_t> disk = {static_cast<uint8_t>(Kind::kDisk), 1, 0, 3, 0, 0x7f, 0};
  EXPECT_NE(error_of(build_log_file(header, disk)).find("bad disk completion record"),
            std::string::npos)
      << error_of(build_log_file(header, disk));
  // Records after the end.
  std::vector<uint8_t> after;
  PayloadWriter end;
  const auto e = encode_end({0, false, 1, "ab"});
  after = {static_cast<uint8_t>(Kind::kEnd), 1, 0, static_cast<uint8_t>(e.size())};
  after.insert(after.end(), e.begin(), e.end());
  EXPECT_EQ(error_of(build_log_file(header, after)), "");
  after.insert(after.end(), {1, 0, 0, 0});
  EXPECT_NE(error_of(build_log_file(header, after)).find("records after the end record"),
            std::string::npos);
}

}  // namespace
}  // namespace vessel::replay
