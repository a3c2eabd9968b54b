#include "storage/mem_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/conformance/backend_conformance.h"

namespace keepsake::storage {
namespace {

using conformance::BackendConformanceTest;
using ::testing::ElementsAre;

// A MemStore under the conformance suite: the store is the "storage behind the backend".
class MemStoreUnderTest final : public conformance::BackendUnderTest {
 public:
  explicit MemStoreUnderTest(const conformance::StoreOptions& options)
      : store_(std::make_shared<MemStore>(MemStoreOptions{options.capacity_bytes, false, "mem://test"})),
        backend_(store_) {
    for (const auto& [path, data] : options.files) store_->PutRaw(path, data);
    store_->set_read_only(options.read_only);
  }
  Backend& backend() override { return backend_; }
  Status PutRaw(std::string_view path, std::string_view data) override {
    store_->PutRaw(path, data);
    return Status();
  }
  Status MakeSymlink(std::string_view, std::string_view) override {
    return Status::NotSupported("a memory store has no symlinks");
  }

 private:
  std::shared_ptr<MemStore> store_;
  MemBackend backend_;
};

conformance::BackendFixture MemFixture() {
  conformance::BackendFixture fixture;
  fixture.name = "Mem";
  fixture.open =
      [](const conformance::StoreOptions& options) -> Result<std::unique_ptr<conformance::BackendUnderTest>> {
    return std::unique_ptr<conformance::BackendUnderTest>(new MemStoreUnderTest(options));
  };
  fixture.can_make_read_only = true;
  fixture.can_fill_up = true;
  return fixture;
}

INSTANTIATE_TEST_SUITE_P(Mem, BackendConformanceTest, ::testing::Values(MemFixture()), conformance::BackendFixtureName);

TEST(MemBackendTest, BackendsOfOneStoreSeeTheSameFiles) {
  auto store = std::make_shared<MemStore>();
  MemBackend a(store), b(store);
  auto writer = a.NewWriter("x.ksb");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(AsBytes("data")).ok());
  EXPECT_THAT(store->Paths(), ElementsAre(".x.ksb.partial"));
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ(store->Get("x.ksb"), "data");
  EXPECT_TRUE(b.Stat("x.ksb").ok());
}

TEST(MemBackendTest, ErrorsCarryTheirErrno) {
  MemBackend backend(std::make_shared<MemStore>(MemStoreOptions{10, false, "mem://small"}));
  EXPECT_EQ(backend.Stat("missing").status().sys_errno(), ENOENT);
  auto writer = backend.NewWriter("big.ksb");
  ASSERT_TRUE(writer.ok());
  Status full = (*writer)->Append(AsBytes(std::string(11, 'x')));
  EXPECT_EQ(full.code(), ErrorCode::kNoSpace);
  EXPECT_EQ(full.sys_errno(), ENOSPC);
  EXPECT_EQ(full.message(), "mem://small/big.ksb: No space left on device");
}

}  // namespace
}  // namespace keepsake::storage
