#include "base/byte_stream.h"

namespace keepsake {

Result<size_t> ReadFull(ByteSource& source, std::span<std::byte> buf) {
  size_t done = 0;
  while (done < buf.size()) {
    ASSIGN_OR_RETURN(size_t n, source.Read(buf.subspan(done)));
    if (n == 0) break;
    done += n;
  }
  return done;
}

}  // namespace keepsake
