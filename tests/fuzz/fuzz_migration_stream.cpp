// The migration receiver against a hostile source: the input is the byte
// stream, written into a socket whose far end is then closed. The receiver
// reads messages into a small guest memory until it throws (at the latest
// when the stream ends); nothing may crash, hang or write outside RAM.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/error.hpp"
#include "vm/migration_stream.hpp"

namespace {

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kPages = 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vessel;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  // Whatever does not fit the socket buffer is cut off: the receiver then
  // sees a stream that ends early, which is one more malformed input.
  if (size > 0) (void)::send(fds[0], data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
  ::close(fds[0]);

  GuestMemory memory(kRam, kPages * GuestMemory::kPageSize);
  MigrationReceiver receiver(fds[1]);
  try {
    // Every message consumes at least its 16-byte header, so the loop ends
    // with the stream; the bound is only a backstop.
    for (size_t i = 0; i <= size / 16 + 1; ++i) {
      // The first HELLO sizes nothing here: the memory is fixed, so a HELLO
      // that does not match it is refused, as on a real destination.
      receiver.next(&memory);
    }
    std::fprintf(stderr, "receiver read more messages than the input holds\n");
    std::abort();
  } catch (const Error&) {
    // Every malformed stream ends here, including the end of the input.
  }
  ::close(fds[1]);
  return 0;
}
