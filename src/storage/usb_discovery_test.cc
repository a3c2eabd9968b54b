#include "storage/usb_discovery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "base/test_temp_dir.h"
#include "storage/usb_drives.h"

namespace keepsake::storage {
namespace {

using ::testing::HasSubstr;

DiskInfo Disk() { return {"sdb", "/dev/sdb", 1ull << 30, "SanDisk", "Ultra", ""}; }

PartitionProbe Part(int number, std::string fs, std::string label = "", std::string uuid = "0a1b-2c3d") {
  PartitionProbe p;
  p.number = number;
  p.offset = 1ull << 20;
  p.size = 100ull << 20;
  p.fs_type = std::move(fs);
  p.label = std::move(label);
  p.uuid = std::move(uuid);
  return p;
}

DiskProbe Gpt(std::vector<PartitionProbe> parts) { return {"gpt", "", std::move(parts)}; }

TEST(UsbClassifyTest, GptWithExt4AndExfatIsSupported) {
  UsbDrive d = Classify(Disk(), Gpt({Part(1, "ext4", "BACKUP", "5f1c0e7a-1111-2222-3333-444455556666"),
                                     Part(2, "exfat", "STICK", "1234-ABCD")}));
  EXPECT_TRUE(d.supported);
  EXPECT_EQ(d.reason, "");
  EXPECT_EQ(d.partition_table, "gpt");
  ASSERT_EQ(d.volumes.size(), 2u);
  EXPECT_EQ(d.volumes[0].state, UsbVolumeState::kPending);
  EXPECT_EQ(d.volumes[1].state, UsbVolumeState::kPending);
  EXPECT_EQ(d.volumes[1].label, "STICK");
  EXPECT_EQ(d.model, "Ultra");
}

TEST(UsbClassifyTest, MbrDriveIsUnsupportedSayingHowToFixIt) {
  UsbDrive d = Classify(Disk(), {"dos", "", {Part(1, "ext4")}});
  EXPECT_FALSE(d.supported);
  EXPECT_THAT(d.reason, HasSubstr("MBR (dos) partition table"));
  EXPECT_THAT(d.reason, HasSubstr("only GPT-partitioned drives are supported"));
  EXPECT_THAT(d.reason, HasSubstr("repartition it with a GPT table"));
  ASSERT_EQ(d.volumes.size(), 1u);
  EXPECT_EQ(d.volumes[0].state, UsbVolumeState::kUnsupported);
}

TEST(UsbClassifyTest, VfatPartitionIsUnsupportedNextToASupportedOne) {
  UsbDrive d = Classify(Disk(), Gpt({Part(1, "ext4"), Part(2, "vfat", "OLD")}));
  EXPECT_TRUE(d.supported);
  EXPECT_EQ(d.volumes[0].state, UsbVolumeState::kPending);
  EXPECT_EQ(d.volumes[1].state, UsbVolumeState::kUnsupported);
  EXPECT_EQ(d.volumes[1].reason, "partition 2: vfat file system: only ext4 and exFAT are supported");
}

TEST(UsbClassifyTest, GptWithoutUsablePartitionsIsUnsupported) {
  UsbDrive d = Classify(Disk(), Gpt({Part(1, "vfat")}));
  EXPECT_FALSE(d.supported);
  EXPECT_THAT(d.reason, HasSubstr("no ext4 or exFAT partition"));
  EXPECT_FALSE(Classify(Disk(), Gpt({})).supported);
}

TEST(UsbClassifyTest, NoPartitionTable) {
  UsbDrive blank = Classify(Disk(), {});
  EXPECT_FALSE(blank.supported);
  EXPECT_THAT(blank.reason, HasSubstr("no partition table"));
  UsbDrive superfloppy = Classify(Disk(), {"", "exfat", {}});
  EXPECT_FALSE(superfloppy.supported);
  EXPECT_THAT(superfloppy.reason, HasSubstr("whole drive holds a exfat file system"));
}

TEST(UsbClassifyTest, UnformattedAndAmbivalentPartitionsSayWhy) {
  PartitionProbe twice = Part(2, "");
  twice.ambivalent = true;
  UsbDrive d = Classify(Disk(), Gpt({Part(1, ""), twice}));
  EXPECT_THAT(d.volumes[0].reason, HasSubstr("partition 1: no file system found"));
  EXPECT_THAT(d.volumes[1].reason, HasSubstr("several file systems"));
}

TEST(UsbClassifyTest, UuidThatCannotNameAMountPointIsRefused) {
  UsbDrive d = Classify(Disk(), Gpt({Part(1, "ext4", "X", "../../etc")}));
  EXPECT_EQ(d.volumes[0].state, UsbVolumeState::kUnsupported);
  EXPECT_THAT(d.volumes[0].reason, HasSubstr("UUID"));
}

TEST(UsbDrivesTest, OnlyMountedVolumesAreOfferedWithAUrl) {
  UsbDrive d = Classify(Disk(), Gpt({Part(1, "ext4", "BACKUP"), Part(2, "exfat", "", "ABCD-1234")}));
  d.volumes[0].state = UsbVolumeState::kFull;
  EXPECT_EQ(OfferedUrl(d.volumes[0]), std::nullopt);  // full: not offered
  d.volumes[0].state = UsbVolumeState::kMounted;
  EXPECT_EQ(OfferedUrl(d.volumes[0]), "usb://BACKUP");
  d.volumes[1].state = UsbVolumeState::kMounted;
  EXPECT_EQ(OfferedUrl(d.volumes[1]), "usb://ABCD-1234");  // no label: the UUID
}

// A fake /sys/block: what is a USB disk and what is not.
class ListDisksTest : public ::testing::Test {
 protected:
  void AddDisk(const std::string& name, const std::string& device_path, uint64_t sectors) {
    std::filesystem::path real = root_ + "/devices" + device_path + "/" + name;
    std::filesystem::create_directories(real);
    Write(real / "size", std::to_string(sectors));
    std::filesystem::create_directory_symlink(real, block_ + "/" + name);
  }
  void AddLoop(const std::string& name, const std::string& backing, const std::string& offset = "0",
               const std::string& autoclear = "0") {
    AddDisk(name, "/virtual/block", 2048);
    std::filesystem::path loop = block_ + "/" + name + "/loop";
    std::filesystem::create_directories(loop);
    Write(loop / "backing_file", backing);
    Write(loop / "offset", offset);
    Write(loop / "sizelimit", "0");
    Write(loop / "autoclear", autoclear);
  }
  static void Write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text << "\n"; }
  std::vector<std::string> Names(const DiscoveryOptions& options) {
    auto disks = ListDisks(options, block_);
    EXPECT_TRUE(disks.ok()) << disks.status().ToString();
    std::vector<std::string> names;
    for (const DiskInfo& d : *disks) names.push_back(d.name);
    return names;
  }

  TestTempDir tmp_{"ks_usb_sys"};
  std::string root_ = tmp_.path();
  std::string block_ = [this] {
    std::filesystem::create_directories(root_ + "/block");
    return root_ + "/block";
  }();
};

TEST_F(ListDisksTest, OnlyDisksOnAUsbBusCount) {
  AddDisk("sda", "/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block", 1000);
  AddDisk("sdb", "/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block", 1000);
  AddDisk("sdc", "/pci0000:00/0000:00:14.0/usb2/2-2/2-2:1.0/host7/target7:0:0/7:0:0:0/block", 0);  // no media
  EXPECT_EQ(Names({}), std::vector<std::string>{"sdb"});
}

TEST_F(ListDisksTest, LoopsOnlyWithTheTestSwitchAndNeverOurOwn) {
  AddLoop("loop0", "/tmp/usb.img");
  AddLoop("loop1", "/dev/loop0");               // a partition loop over a disk node
  AddLoop("loop2", "/tmp/usb.img", "1048576");  // a partition loop at an offset
  AddLoop("loop3", "/tmp/usb.img", "0", "1");   // clears itself: ours, or being detached
  EXPECT_TRUE(Names({}).empty());
  EXPECT_EQ(Names({true, {}}), std::vector<std::string>{"loop0"});
  EXPECT_TRUE(Names({true, {"/dev/loop9"}}).empty());
}

}  // namespace
}  // namespace keepsake::storage
