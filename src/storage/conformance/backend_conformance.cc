#include "storage/conformance/backend_conformance.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

#include "base/byte_stream.h"

namespace keepsake::storage::conformance {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendConformanceTest);

void BackendConformanceTest::SetUp() { Reopen({}); }

bool BackendConformanceTest::Reopen(const StoreOptions& options) {
  store_.reset();
  auto opened = GetParam().open(options);
  if (!opened.ok()) {
    const Status& s = opened.status();
    if (s.code() == ErrorCode::kNotSupported) {
      [&] { GTEST_SKIP() << GetParam().name << " store not available: " << s.message(); }();
    } else {
      [&] { FAIL() << "opening the " << GetParam().name << " store: " << s.ToString(); }();
    }
    return false;
  }
  store_ = std::move(opened).value();
  return true;
}

Status BackendConformanceTest::Put(std::string_view path, std::string_view data, size_t chunk) {
  ASSIGN_OR_RETURN(auto writer, backend().NewWriter(path));
  auto bytes = AsBytes(data);
  for (size_t done = 0; done < bytes.size(); done += chunk) {
    RETURN_IF_ERROR(writer->Append(bytes.subspan(done, std::min(chunk, bytes.size() - done))));
  }
  return writer->Commit();
}

Result<std::string> BackendConformanceTest::ReadAll(std::string_view path, uint64_t offset, size_t buf_size) {
  ASSIGN_OR_RETURN(auto reader, backend().NewReader(path, offset));
  std::string out;
  std::string buf(buf_size, '\0');
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, reader->Read(std::as_writable_bytes(std::span(buf))));
    if (n == 0) break;
    out.append(buf, 0, n);
  }
  return out;
}

Result<std::vector<std::string>> BackendConformanceTest::ListNames(std::string_view dir, std::string_view filter) {
  ASSIGN_OR_RETURN(auto entries, backend().List(dir, filter));
  std::vector<std::string> names;
  for (const Entry& e : entries) names.push_back(e.name);
  return names;
}

namespace {

// The seed for random test data: KEEPSAKE_TEST_SEED if set, else fresh; always logged so
// that a failure can be replayed.
uint64_t TestSeed() {
  uint64_t seed;
  if (const char* env = std::getenv("KEEPSAKE_TEST_SEED")) {
    seed = std::strtoull(env, nullptr, 10);
  } else {
    seed = (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
  }
  std::printf("[   SEED   ] KEEPSAKE_TEST_SEED=%llu\n", static_cast<unsigned long long>(seed));
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

std::string RandomData(std::mt19937_64& rng, size_t size) {
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

// Compares big strings without printing megabytes on failure.
::testing::AssertionResult SameData(const std::string& actual, const std::string& expected) {
  if (actual == expected) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < actual.size() && i < expected.size() && actual[i] == expected[i]) ++i;
  return ::testing::AssertionFailure() << "got " << actual.size() << " bytes, expected " << expected.size()
                                       << "; first difference at byte " << i;
}

::testing::AssertionResult HasCode(const Status& status, ErrorCode code) {
  if (status.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected " << ErrorCodeName(code) << ", got " << status.ToString();
}

// Each evaluates `expr` once: it may be a call with side effects.
#define EXPECT_CODE(expr, code) EXPECT_TRUE(HasCode((expr), (code)))
#define EXPECT_OK(expr) EXPECT_TRUE(HasCode((expr), ErrorCode::kOk))
#define ASSERT_OK(expr) ASSERT_TRUE(HasCode((expr), ErrorCode::kOk))

// Paths every backend must refuse before touching the storage.
const std::vector<std::string>& BadPaths() {
  static const std::vector<std::string> paths = {
      "..", "../x", "/etc", "/etc/passwd", "a/../../b", "a/..", "a//b", "a/", "./a", "a/./b", std::string("a\0b", 3),
  };
  return paths;
}

// ---------------------------------------------------------------------------------------
// Missing paths

TEST_P(BackendConformanceTest, MissingPathIsNotFound) {
  ASSERT_OK(backend().MakeDir("dir"));
  EXPECT_CODE(backend().Stat("missing.ksb").status(), ErrorCode::kNotFound);
  EXPECT_CODE(backend().Stat("dir/missing.ksb").status(), ErrorCode::kNotFound);
  EXPECT_CODE(backend().NewReader("missing.ksb").status(), ErrorCode::kNotFound);
  EXPECT_CODE(backend().List("missing").status(), ErrorCode::kNotFound);
  EXPECT_CODE(backend().GetAccess("missing").status(), ErrorCode::kNotFound);
  EXPECT_CODE(backend().Remove("missing.ksb"), ErrorCode::kNotFound);
  EXPECT_CODE(backend().Rename("missing.ksb", "other.ksb"), ErrorCode::kNotFound);
  EXPECT_CODE(backend().NewWriter("missing/new.ksb").status(), ErrorCode::kNotFound);
}

TEST_P(BackendConformanceTest, NotFoundMessageNamesThePath) {
  Status s = backend().Stat("missing.ksb").status();
  EXPECT_THAT(s.message(), HasSubstr("missing.ksb"));
}

// ---------------------------------------------------------------------------------------
// Writing and reading

TEST_P(BackendConformanceTest, RoundTripsAroundTheBufferSizes) {
  std::mt19937_64 rng(TestSeed());
  for (size_t size : {size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{65537}}) {
    SCOPED_TRACE(::testing::Message() << "size " << size);
    std::string data = RandomData(rng, size);
    std::string path = "file_" + std::to_string(size);
    ASSERT_OK(Put(path, data, 1000));
    auto stat = backend().Stat(path);
    ASSERT_OK(stat.status());
    EXPECT_EQ(stat->size, size);
    EXPECT_FALSE(stat->is_dir);
    auto small_reads = ReadAll(path, 0, 4096);
    ASSERT_OK(small_reads.status());
    EXPECT_TRUE(SameData(*small_reads, data));
    auto big_reads = ReadAll(path, 0, 1 << 20);
    ASSERT_OK(big_reads.status());
    EXPECT_TRUE(SameData(*big_reads, data));
  }
}

TEST_P(BackendConformanceTest, RoundTripsSeveralMebibytes) {
  std::mt19937_64 rng(TestSeed());
  std::string data = RandomData(rng, (3 << 20) + 12345);
  ASSERT_OK(Put("big.ksb", data, (64 << 10) + 7));
  auto read = ReadAll("big.ksb", 0, 100000);
  ASSERT_OK(read.status());
  EXPECT_TRUE(SameData(*read, data));
}

TEST_P(BackendConformanceTest, ReadsFromAnOffset) {
  std::mt19937_64 rng(TestSeed());
  std::string data = RandomData(rng, 100000);
  ASSERT_OK(Put("a.ksb", data));
  for (uint64_t offset : {0, 1, 65536, 99999, 100000}) {
    SCOPED_TRACE(::testing::Message() << "offset " << offset);
    auto read = ReadAll("a.ksb", offset);
    ASSERT_OK(read.status());
    EXPECT_TRUE(SameData(*read, data.substr(offset)));
  }
}

TEST_P(BackendConformanceTest, OffsetPastTheEndIsInvalid) {
  ASSERT_OK(Put("a.ksb", "12345"));
  EXPECT_CODE(backend().NewReader("a.ksb", 6).status(), ErrorCode::kInvalidArgument);
}

TEST_P(BackendConformanceTest, ReadingADirectoryIsInvalid) {
  ASSERT_OK(backend().MakeDir("dir"));
  EXPECT_CODE(backend().NewReader("dir").status(), ErrorCode::kInvalidArgument);
  EXPECT_CODE(backend().NewReader("").status(), ErrorCode::kInvalidArgument);
}

TEST_P(BackendConformanceTest, FileIsInvisibleUntilCommit) {
  auto writer = backend().NewWriter("a.ksb");
  ASSERT_OK(writer.status());
  ASSERT_OK((*writer)->Append(AsBytes("data")));
  EXPECT_CODE(backend().Stat("a.ksb").status(), ErrorCode::kNotFound);
  ASSERT_OK((*writer)->Commit());
  auto read = ReadAll("a.ksb");
  ASSERT_OK(read.status());
  EXPECT_EQ(*read, "data");
}

TEST_P(BackendConformanceTest, UncommittedWriterLeavesNothing) {
  ASSERT_OK(backend().MakeDir("dir"));
  {
    auto writer = backend().NewWriter("dir/a.ksb");
    ASSERT_OK(writer.status());
    ASSERT_OK((*writer)->Append(AsBytes(std::string(100000, 'x'))));
  }
  { ASSERT_OK(backend().NewWriter("dir/empty.ksb").status()); }
  auto names = ListNames("dir");
  ASSERT_OK(names.status());
  EXPECT_THAT(*names, IsEmpty());
}

TEST_P(BackendConformanceTest, NewWriterRefusesAnExistingName) {
  ASSERT_OK(Put("a.ksb", "first"));
  auto writer = backend().NewWriter("a.ksb");
  EXPECT_CODE(writer.status(), ErrorCode::kAlreadyExists);
  EXPECT_THAT(writer.status().message(), HasSubstr("a.ksb"));
  auto read = ReadAll("a.ksb");
  ASSERT_OK(read.status());
  EXPECT_EQ(*read, "first");
}

TEST_P(BackendConformanceTest, NewWriterRefusesADirectoryName) {
  ASSERT_OK(backend().MakeDir("dir"));
  EXPECT_CODE(backend().NewWriter("dir").status(), ErrorCode::kAlreadyExists);
}

TEST_P(BackendConformanceTest, SecondWriterForTheSameNameIsRefused) {
  auto first = backend().NewWriter("a.ksb");
  ASSERT_OK(first.status());
  EXPECT_CODE(backend().NewWriter("a.ksb").status(), ErrorCode::kAlreadyExists);
  ASSERT_OK((*first)->Append(AsBytes("first")));
  ASSERT_OK((*first)->Commit());
}

TEST_P(BackendConformanceTest, CommitNeverReplacesAFileThatAppeared) {
  auto writer = backend().NewWriter("a.ksb");
  ASSERT_OK(writer.status());
  ASSERT_OK((*writer)->Append(AsBytes("new")));
  ASSERT_OK(Put("other.ksb", "old"));
  ASSERT_OK(backend().Rename("other.ksb", "a.ksb"));
  EXPECT_CODE((*writer)->Commit(), ErrorCode::kAlreadyExists);
  (*writer).reset();  // destroying the writer removes its partial
  auto read = ReadAll("a.ksb");
  ASSERT_OK(read.status());
  EXPECT_EQ(*read, "old");
  auto names = ListNames("");
  ASSERT_OK(names.status());
  EXPECT_THAT(*names, ElementsAre("a.ksb"));
}

TEST_P(BackendConformanceTest, PartialNamesAreReserved) {
  EXPECT_CODE(backend().NewWriter(".a.ksb.partial").status(), ErrorCode::kInvalidArgument);
  ASSERT_OK(Put("a.ksb", "x"));
  EXPECT_CODE(backend().Rename("a.ksb", ".a.ksb.partial"), ErrorCode::kInvalidArgument);
}

TEST_P(BackendConformanceTest, WriterOnTheRootIsInvalid) {
  EXPECT_CODE(backend().NewWriter("").status(), ErrorCode::kInvalidArgument);
  EXPECT_CODE(backend().NewWriter(".").status(), ErrorCode::kInvalidArgument);
}

TEST_P(BackendConformanceTest, WriterSinkDoesNotCommit) {
  auto writer = backend().NewWriter("a.ksb");
  ASSERT_OK(writer.status());
  {
    WriterSink sink(**writer);
    ASSERT_OK(sink.Write(AsBytes("through the pipeline")));
    ASSERT_OK(sink.Finish());
  }
  EXPECT_CODE(backend().Stat("a.ksb").status(), ErrorCode::kNotFound);
  ASSERT_OK((*writer)->Commit());
  auto reader = backend().NewReader("a.ksb");
  ASSERT_OK(reader.status());
  ReaderSource source(std::move(reader).value());
  std::string buf(100, '\0');
  auto n = ReadFull(source, std::as_writable_bytes(std::span(buf)));
  ASSERT_OK(n.status());
  EXPECT_EQ(buf.substr(0, *n), "through the pipeline");
}

// ---------------------------------------------------------------------------------------
// Listing and stat

TEST_P(BackendConformanceTest, EmptyStoreListsNothing) {
  auto names = ListNames("");
  ASSERT_OK(names.status());
  EXPECT_THAT(*names, IsEmpty());
  auto dot = ListNames(".");
  ASSERT_OK(dot.status());
  EXPECT_THAT(*dot, IsEmpty());
}

TEST_P(BackendConformanceTest, ListReturnsExactlyWhatExists) {
  ASSERT_OK(Put("b.ksb", "bbb"));
  ASSERT_OK(Put("a.ksb", "aaaaa"));
  ASSERT_OK(backend().MakeDir("dir"));
  ASSERT_OK(Put("dir/inner.ksb", "i"));
  auto entries = backend().List("");
  ASSERT_OK(entries.status());
  ASSERT_EQ(entries->size(), 3u);
  const int64_t now = std::time(nullptr);
  EXPECT_EQ((*entries)[0].name, "a.ksb");
  EXPECT_EQ((*entries)[0].size, 5u);
  EXPECT_FALSE((*entries)[0].is_dir);
  EXPECT_EQ((*entries)[1].name, "b.ksb");
  EXPECT_EQ((*entries)[1].size, 3u);
  EXPECT_EQ((*entries)[2].name, "dir");
  EXPECT_TRUE((*entries)[2].is_dir);
  for (const Entry& e : *entries) {
    // Network storage may have a skewed clock; an hour either way is still "now".
    EXPECT_NEAR(static_cast<double>(e.mtime), static_cast<double>(now), 3600.0) << e.name;
  }
  auto inner = ListNames("dir");
  ASSERT_OK(inner.status());
  EXPECT_THAT(*inner, ElementsAre("inner.ksb"));
}

TEST_P(BackendConformanceTest, ListFilterIsACaseInsensitiveSubstring) {
  ASSERT_OK(Put("KP_A_2025.ksb", "1"));
  ASSERT_OK(Put("kp_b_2024.ksb", "2"));
  ASSERT_OK(Put("other.txt", "3"));
  auto kp = ListNames("", "kp_");
  ASSERT_OK(kp.status());
  EXPECT_THAT(*kp, ElementsAre("KP_A_2025.ksb", "kp_b_2024.ksb"));
  auto year = ListNames("", "2025");
  ASSERT_OK(year.status());
  EXPECT_THAT(*year, ElementsAre("KP_A_2025.ksb"));
  auto ext = ListNames("", "KSB");
  ASSERT_OK(ext.status());
  EXPECT_THAT(*ext, ElementsAre("KP_A_2025.ksb", "kp_b_2024.ksb"));
  auto none = ListNames("", "zzz");
  ASSERT_OK(none.status());
  EXPECT_THAT(*none, IsEmpty());
}

TEST_P(BackendConformanceTest, ListShowsPartialsAsTheyAre) {
  auto writer = backend().NewWriter("a.ksb");
  ASSERT_OK(writer.status());
  auto during = ListNames("");
  ASSERT_OK(during.status());
  EXPECT_THAT(*during, ElementsAre(".a.ksb.partial"));
  ASSERT_OK((*writer)->Commit());
  auto after = ListNames("");
  ASSERT_OK(after.status());
  EXPECT_THAT(*after, ElementsAre("a.ksb"));
}

TEST_P(BackendConformanceTest, ListingAFileIsInvalid) {
  ASSERT_OK(Put("a.ksb", "x"));
  EXPECT_CODE(backend().List("a.ksb").status(), ErrorCode::kInvalidArgument);
}

TEST_P(BackendConformanceTest, StatDescribesFilesDirectoriesAndTheRoot) {
  ASSERT_OK(backend().MakeDir("dir"));
  ASSERT_OK(Put("dir/a.ksb", "12345"));
  auto file = backend().Stat("dir/a.ksb");
  ASSERT_OK(file.status());
  EXPECT_EQ(file->name, "a.ksb");
  EXPECT_EQ(file->size, 5u);
  EXPECT_FALSE(file->is_dir);
  auto dir = backend().Stat("dir");
  ASSERT_OK(dir.status());
  EXPECT_EQ(dir->name, "dir");
  EXPECT_TRUE(dir->is_dir);
  auto root = backend().Stat("");
  ASSERT_OK(root.status());
  EXPECT_TRUE(root->is_dir);
}

// ---------------------------------------------------------------------------------------
// Directories, rename, remove

TEST_P(BackendConformanceTest, MakeDirCreatesNestedDirectories) {
  ASSERT_OK(backend().MakeDir("a/b/c"));
  for (const char* dir : {"a", "a/b", "a/b/c"}) {
    auto stat = backend().Stat(dir);
    ASSERT_OK(stat.status());
    EXPECT_TRUE(stat->is_dir) << dir;
  }
  EXPECT_OK(Put("a/b/c/x.ksb", "x"));
}

TEST_P(BackendConformanceTest, MakeDirIsIdempotent) {
  ASSERT_OK(backend().MakeDir("a/b"));
  EXPECT_OK(backend().MakeDir("a/b"));
  EXPECT_OK(backend().MakeDir("a"));
  EXPECT_OK(backend().MakeDir(""));
}

TEST_P(BackendConformanceTest, MakeDirOverAFileIsAlreadyExists) {
  ASSERT_OK(Put("f", "x"));
  EXPECT_CODE(backend().MakeDir("f"), ErrorCode::kAlreadyExists);
  EXPECT_CODE(backend().MakeDir("f/sub"), ErrorCode::kAlreadyExists);
}

TEST_P(BackendConformanceTest, RenameMovesAFile) {
  ASSERT_OK(Put("a.ksb", "data"));
  ASSERT_OK(backend().MakeDir("dir"));
  ASSERT_OK(backend().Rename("a.ksb", "dir/b.ksb"));
  EXPECT_CODE(backend().Stat("a.ksb").status(), ErrorCode::kNotFound);
  auto read = ReadAll("dir/b.ksb");
  ASSERT_OK(read.status());
  EXPECT_EQ(*read, "data");
}

TEST_P(BackendConformanceTest, RenameMovesADirectory) {
  ASSERT_OK(backend().MakeDir("old"));
  ASSERT_OK(Put("old/a.ksb", "data"));
  ASSERT_OK(backend().Rename("old", "new"));
  EXPECT_CODE(backend().Stat("old").status(), ErrorCode::kNotFound);
  auto read = ReadAll("new/a.ksb");
  ASSERT_OK(read.status());
  EXPECT_EQ(*read, "data");
}

TEST_P(BackendConformanceTest, RenameNeverReplaces) {
  ASSERT_OK(Put("a.ksb", "a"));
  ASSERT_OK(Put("b.ksb", "b"));
  EXPECT_CODE(backend().Rename("a.ksb", "b.ksb"), ErrorCode::kAlreadyExists);
  auto a = ReadAll("a.ksb");
  auto b = ReadAll("b.ksb");
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  EXPECT_EQ(*a, "a");
  EXPECT_EQ(*b, "b");
}

TEST_P(BackendConformanceTest, RenameIntoAMissingDirectoryIsNotFound) {
  ASSERT_OK(Put("a.ksb", "a"));
  EXPECT_CODE(backend().Rename("a.ksb", "missing/a.ksb"), ErrorCode::kNotFound);
  EXPECT_OK(backend().Stat("a.ksb").status());
}

TEST_P(BackendConformanceTest, RemoveDeletesAFile) {
  ASSERT_OK(Put("a.ksb", "a"));
  ASSERT_OK(backend().Remove("a.ksb"));
  EXPECT_CODE(backend().Stat("a.ksb").status(), ErrorCode::kNotFound);
}

TEST_P(BackendConformanceTest, RemoveDeletesAnEmptyDirectory) {
  ASSERT_OK(backend().MakeDir("a/b"));
  ASSERT_OK(backend().Remove("a/b"));
  EXPECT_CODE(backend().Stat("a/b").status(), ErrorCode::kNotFound);
  EXPECT_OK(backend().Stat("a").status());
}

TEST_P(BackendConformanceTest, RemoveRefusesANonEmptyDirectory) {
  ASSERT_OK(backend().MakeDir("dir"));
  ASSERT_OK(Put("dir/a.ksb", "a"));
  EXPECT_CODE(backend().Remove("dir"), ErrorCode::kFailedPrecondition);
  EXPECT_OK(backend().Stat("dir/a.ksb").status());
}

TEST_P(BackendConformanceTest, RemovingTheRootIsInvalid) {
  EXPECT_CODE(backend().Remove(""), ErrorCode::kInvalidArgument);
  EXPECT_CODE(backend().Remove("."), ErrorCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------
// Escapes

TEST_P(BackendConformanceTest, PathsOutsideTheRootAreRefused) {
  ASSERT_OK(Put("a.ksb", "a"));
  for (const std::string& path : BadPaths()) {
    SCOPED_TRACE(::testing::Message() << "path \"" << path << "\" (" << path.size() << " bytes)");
    EXPECT_CODE(backend().Stat(path).status(), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().List(path).status(), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().GetAccess(path).status(), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().NewReader(path).status(), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().NewWriter(path).status(), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().MakeDir(path), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().Remove(path), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().Rename("a.ksb", path), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().Rename(path, "b.ksb"), ErrorCode::kInvalidArgument);
  }
  EXPECT_OK(backend().Stat("a.ksb").status());
}

TEST_P(BackendConformanceTest, RefusalNamesThePath) {
  Status s = backend().Stat("a/../../etc/passwd").status();
  EXPECT_CODE(s, ErrorCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("a/../../etc/passwd"));
}

TEST_P(BackendConformanceTest, SymlinksOutOfTheRootAreRefused) {
  if (!GetParam().supports_symlinks) GTEST_SKIP() << GetParam().name << " storage has no symlinks";
  // Reads go through links to real system directories; writes through links to /tmp, so
  // that a broken check cannot damage the system.
  ASSERT_OK(store().MakeSymlink("etc", "/etc"));
  ASSERT_OK(store().MakeSymlink("passwd", "/etc/passwd"));
  ASSERT_OK(store().MakeSymlink("up", "../../../../../../../../../../etc"));
  ASSERT_OK(store().MakeSymlink("tmp", "/tmp"));
  ASSERT_OK(store().MakeSymlink("uptmp", "../../../../../../../../../../tmp"));
  for (const char* link : {"etc", "up"}) {
    SCOPED_TRACE(link);
    EXPECT_CODE(backend().Stat(link).status(), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().List(link).status(), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().GetAccess(link).status(), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().NewReader(std::string(link) + "/passwd").status(), ErrorCode::kInvalidArgument);
  }
  EXPECT_CODE(backend().NewReader("passwd").status(), ErrorCode::kInvalidArgument);
  EXPECT_CODE(backend().Stat("passwd").status(), ErrorCode::kInvalidArgument);
  for (const char* link : {"tmp", "uptmp"}) {
    SCOPED_TRACE(link);
    std::string inside = std::string(link) + "/keepsake-conformance-escape-check";
    EXPECT_CODE(backend().NewWriter(inside).status(), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().MakeDir(inside), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().Rename("etc", inside), ErrorCode::kInvalidArgument);
  }
}

TEST_P(BackendConformanceTest, SymlinksInsideTheRootAreFollowedOrRefused) {
  if (!GetParam().supports_symlinks) GTEST_SKIP() << GetParam().name << " storage has no symlinks";
  ASSERT_OK(backend().MakeDir("real"));
  ASSERT_OK(Put("real/a.ksb", "data"));
  ASSERT_OK(store().MakeSymlink("alias", "real"));
  if (!GetParam().follows_symlinks) {  // the backend refuses every symlink, even these
    EXPECT_CODE(backend().NewReader("alias/a.ksb").status(), ErrorCode::kInvalidArgument);
    EXPECT_CODE(backend().Stat("alias").status(), ErrorCode::kInvalidArgument);
    return;
  }
  auto read = ReadAll("alias/a.ksb");
  ASSERT_OK(read.status());
  EXPECT_EQ(*read, "data");
  auto stat = backend().Stat("alias");
  ASSERT_OK(stat.status());
  EXPECT_TRUE(stat->is_dir);
}

TEST_P(BackendConformanceTest, RemovingAnEscapingSymlinkRemovesOnlyTheLink) {
  if (!GetParam().supports_symlinks) GTEST_SKIP() << GetParam().name << " storage has no symlinks";
  ASSERT_OK(store().MakeSymlink("etc", "/etc"));
  auto listed = ListNames("");
  ASSERT_OK(listed.status());
  EXPECT_THAT(*listed, ElementsAre("etc"));
  ASSERT_OK(backend().Remove("etc"));
  auto after = ListNames("");
  ASSERT_OK(after.status());
  EXPECT_THAT(*after, IsEmpty());
}

// ---------------------------------------------------------------------------------------
// Capacity and access

TEST_P(BackendConformanceTest, CapacityIsSane) {
  auto capacity = backend().GetCapacity();
  ASSERT_OK(capacity.status());
  EXPECT_GT(capacity->total, 0u);
  EXPECT_GE(capacity->total, capacity->free);
  EXPECT_GE(capacity->total, capacity->used);
}

TEST_P(BackendConformanceTest, WritableStoreGrantsReadAndWrite) {
  ASSERT_OK(backend().MakeDir("dir"));
  for (const char* dir : {"", ".", "dir"}) {
    auto access = backend().GetAccess(dir);
    ASSERT_OK(access.status());
    EXPECT_TRUE(access->can_read) << dir;
    EXPECT_TRUE(access->can_write) << dir;
  }
}

TEST_P(BackendConformanceTest, AccessOfAFileIsInvalid) {
  ASSERT_OK(Put("a.ksb", "a"));
  EXPECT_CODE(backend().GetAccess("a.ksb").status(), ErrorCode::kInvalidArgument);
}

TEST_P(BackendConformanceTest, ReadOnlyStoreRefusesWrites) {
  if (!GetParam().can_make_read_only) GTEST_SKIP() << GetParam().name << " store cannot be made read-only";
  StoreOptions options;
  options.files = {{"kept.ksb", "kept"}};
  options.read_only = true;
  if (!Reopen(options)) return;
  EXPECT_CODE(backend().NewWriter("new.ksb").status(), ErrorCode::kPermissionDenied);
  EXPECT_CODE(backend().MakeDir("dir"), ErrorCode::kPermissionDenied);
  EXPECT_CODE(backend().Remove("kept.ksb"), ErrorCode::kPermissionDenied);
  EXPECT_CODE(backend().Rename("kept.ksb", "moved.ksb"), ErrorCode::kPermissionDenied);
}

TEST_P(BackendConformanceTest, ReadOnlyStoreStillReads) {
  if (!GetParam().can_make_read_only) GTEST_SKIP() << GetParam().name << " store cannot be made read-only";
  StoreOptions options;
  options.files = {{"kept.ksb", "kept"}};
  options.read_only = true;
  if (!Reopen(options)) return;
  auto read = ReadAll("kept.ksb");
  ASSERT_OK(read.status());
  EXPECT_EQ(*read, "kept");
  auto names = ListNames("");
  ASSERT_OK(names.status());
  EXPECT_THAT(*names, ElementsAre("kept.ksb"));
}

TEST_P(BackendConformanceTest, ReadOnlyStoreReportsNoWriteAccess) {
  if (!GetParam().can_make_read_only) GTEST_SKIP() << GetParam().name << " store cannot be made read-only";
  StoreOptions options;
  options.read_only = true;
  if (!Reopen(options)) return;
  auto access = backend().GetAccess("");
  ASSERT_OK(access.status());
  EXPECT_TRUE(access->can_read);
  EXPECT_FALSE(access->can_write);
}

TEST_P(BackendConformanceTest, FullStoreReportsNoSpaceAndLeavesNothing) {
  if (!GetParam().can_fill_up) GTEST_SKIP() << GetParam().name << " store cannot be made small";
  constexpr uint64_t kCapacity = 1 << 20;
  StoreOptions options;
  options.capacity_bytes = kCapacity;
  if (!Reopen(options)) return;
  std::string chunk(64 << 10, 'x');
  Status status;
  {
    auto writer = backend().NewWriter("big.ksb");
    ASSERT_OK(writer.status());
    for (uint64_t written = 0; status.ok() && written < 4 * kCapacity; written += chunk.size()) {
      status = (*writer)->Append(AsBytes(chunk));
    }
    if (status.ok()) status = (*writer)->Commit();
  }
  EXPECT_CODE(status, ErrorCode::kNoSpace);
  EXPECT_THAT(status.message(), HasSubstr("big.ksb"));
  auto names = ListNames("");
  ASSERT_OK(names.status());
  EXPECT_THAT(*names, IsEmpty());
  // The space is given back, so the next, smaller backup fits.
  EXPECT_OK(Put("small.ksb", std::string(kCapacity / 4, 'y')));
}

// ---------------------------------------------------------------------------------------
// Crash leftovers

TEST_P(BackendConformanceTest, RemovePartialsRemovesOnlyPartials) {
  ASSERT_OK(backend().MakeDir("d"));
  for (const char* path :
       {".a.ksb.partial", ".b.partial", "a.ksb", ".hidden", "x.partial", ".partial", "d/.c.ksb.partial"}) {
    ASSERT_OK(store().PutRaw(path, "leftover"));
  }
  ASSERT_OK(RemovePartials(backend(), ""));
  auto root = ListNames("");
  ASSERT_OK(root.status());
  EXPECT_THAT(*root, ElementsAre(".hidden", ".partial", "a.ksb", "d", "x.partial"));
  auto sub = ListNames("d");
  ASSERT_OK(sub.status());
  EXPECT_THAT(*sub, ElementsAre(".c.ksb.partial"));  // subdirectories are not visited
  ASSERT_OK(RemovePartials(backend(), "d"));
  auto sub_after = ListNames("d");
  ASSERT_OK(sub_after.status());
  EXPECT_THAT(*sub_after, IsEmpty());
}

TEST_P(BackendConformanceTest, RemovePartialsWithNoneIsOk) {
  ASSERT_OK(Put("a.ksb", "a"));
  EXPECT_OK(RemovePartials(backend(), ""));
  EXPECT_OK(backend().Stat("a.ksb").status());
}

TEST_P(BackendConformanceTest, RemovePartialsOfAMissingDirectoryIsNotFound) {
  EXPECT_CODE(RemovePartials(backend(), "missing"), ErrorCode::kNotFound);
}

TEST_P(BackendConformanceTest, NameIsFreeAgainAfterRemovePartials) {
  ASSERT_OK(store().PutRaw(".a.ksb.partial", "crashed"));
  EXPECT_CODE(backend().NewWriter("a.ksb").status(), ErrorCode::kAlreadyExists);
  ASSERT_OK(RemovePartials(backend(), ""));
  EXPECT_OK(Put("a.ksb", "fresh"));
}

}  // namespace
// ---------------------------------------------------------------------------------------
// DirectoryStore

Result<std::unique_ptr<BackendUnderTest>> DirectoryStore::Create(const std::string& parent, const StoreOptions& options,
                                                                 const BackendOpener& open_backend) {
  auto store = std::unique_ptr<DirectoryStore>(new DirectoryStore());
  std::string tmpl = parent + "/store-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return StatusFromErrno(errno, tmpl);
  store->dir_ = tmpl;
  for (const auto& [path, content] : options.files) RETURN_IF_ERROR(store->PutRaw(path, content));
  ASSIGN_OR_RETURN(store->backend_, open_backend(std::filesystem::path(tmpl).filename().string()));
  return std::unique_ptr<BackendUnderTest>(std::move(store));
}

DirectoryStore::~DirectoryStore() {
  backend_.reset();
  std::error_code ec;
  // remove_all does not follow symlinks: the escape tests' links to /etc are safe.
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

Status DirectoryStore::PutRaw(std::string_view path, std::string_view data) {
  std::string file = fmt::format("{}/{}", dir_, path);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return Status::IoError(fmt::format("{}: cannot write", file));
  return Status();
}

Status DirectoryStore::MakeSymlink(std::string_view path, std::string_view target) {
  std::string link = fmt::format("{}/{}", dir_, path);
  if (symlink(std::string(target).c_str(), link.c_str()) != 0) return StatusFromErrno(errno, link);
  return Status();
}

}  // namespace keepsake::storage::conformance
