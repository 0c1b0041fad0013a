// What Linux's 8250 driver and OpenSBI's uart8250 observe from the UART.
#include "devices/uart16550.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace vessel {
namespace {

constexpr uint64_t kRbrThr = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6,
                   kScr = 7;

struct LevelSink : IrqSink {
  void set_irq(uint32_t source, bool on) override {
    last_source = source;
    level = on;
    ++calls;
  }
  uint32_t last_source = 0;
  bool level = false;
  int calls = 0;
};

class UartTest : public ::testing::Test {
 protected:
  uint8_t rd(uint64_t reg) {
    uint64_t v = 0xdead;
    EXPECT_TRUE(uart.mmio_read(reg, 1, v));
    EXPECT_LE(v, 0xffu);
    return static_cast<uint8_t>(v);
  }
  void wr(uint64_t reg, uint8_t v) { EXPECT_TRUE(uart.mmio_write(reg, 1, v)); }

  LevelSink sink;
  std::vector<uint8_t> out;
  Uart16550 uart{IrqLine(&sink, 10), [this](uint8_t b) { out.push_back(b); }};
};

TEST_F(UartTest, ThrBytesReachTheOutput) {
  wr(kRbrThr, 'h');
  wr(kRbrThr, 'i');
  EXPECT_EQ(out, (std::vector<uint8_t>{'h', 'i'}));
  EXPECT_EQ(rd(kLsr) & 0x60, 0x60);  // THRE and TEMT: transmission is instantaneous
}

TEST_F(UartTest, DivisorLatchAccessDoesNotOutput) {
  wr(kLcr, 0x83);  // DLAB + 8N1
  wr(kRbrThr, 0x01);
  wr(kIer, 0x02);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(rd(kRbrThr), 0x01);
  EXPECT_EQ(rd(kIer), 0x02);
  wr(kLcr, 0x03);
  EXPECT_EQ(rd(kIer), 0x00);  // the real IER was never written
  EXPECT_EQ(rd(kLcr), 0x03);
  wr(kRbrThr, 'x');
  EXPECT_EQ(out, (std::vector<uint8_t>{'x'}));
}

TEST_F(UartTest, ReceiveSetsDataReadyAndRaisesWithRdi) {
  EXPECT_EQ(rd(kLsr) & 0x01, 0);
  EXPECT_TRUE(uart.receive('a'));
  EXPECT_EQ(rd(kLsr) & 0x01, 1);
  EXPECT_FALSE(sink.level);  // IER.RDI is off
  wr(kIer, 0x01);
  EXPECT_TRUE(sink.level);
  EXPECT_EQ(sink.last_source, 10u);
  EXPECT_EQ(rd(kIirFcr), 0x04);  // RDI, FIFO off
  EXPECT_EQ(rd(kRbrThr), 'a');
  EXPECT_FALSE(sink.level);
  EXPECT_EQ(rd(kLsr) & 0x01, 0);
  EXPECT_EQ(rd(kIirFcr), 0x01);  // no interrupt
}

TEST_F(UartTest, ReceiveWhileEnabledRaisesAtOnce) {
  wr(kIer, 0x01);
  EXPECT_FALSE(sink.level);
  uart.receive('z');
  EXPECT_TRUE(sink.level);
  EXPECT_TRUE(uart.irq_level());
}

TEST_F(UartTest, FifoEnabledReportsC0AndTriggerLevel) {
  wr(kIirFcr, 0x01 | 0x80);  // FIFO on, trigger 8
  EXPECT_EQ(rd(kIirFcr), 0xc1);
  wr(kIer, 0x01);
  uart.receive('1');
  // Below the trigger level: character timeout, still serviced by Linux.
  EXPECT_EQ(rd(kIirFcr), 0xcc);
  for (int i = 0; i < 7; ++i) uart.receive('x');
  EXPECT_EQ(rd(kIirFcr), 0xc4);
  wr(kIirFcr, 0x00);
  EXPECT_EQ(rd(kIirFcr) & 0xc0, 0);
}

TEST_F(UartTest, FcrClearRxDropsOnlyTheChipFifo) {
  wr(kIirFcr, 0x01);
  for (int i = 0; i < 20; ++i) uart.receive(static_cast<uint8_t>(i));
  wr(kIirFcr, 0x03);  // clear RX
  EXPECT_EQ(rd(kRbrThr), 16);
  EXPECT_EQ(uart.rx_space(), Uart16550::kRxQueueSize - 3);
}

TEST_F(UartTest, ThreInterruptFollowsLinuxStartupProbe) {
  // serial8250_do_startup's UART_BUG_THRE test: enable THRI, read IIR,
  // disable, enable again; the interrupt must come back.
  wr(kIer, 0x02);
  EXPECT_TRUE(sink.level);
  EXPECT_EQ(rd(kIirFcr), 0x02);
  EXPECT_FALSE(sink.level);  // reading IIR acknowledged it
  EXPECT_EQ(rd(kIirFcr), 0x01);
  wr(kIer, 0x00);
  wr(kIer, 0x02);
  EXPECT_EQ(rd(kIirFcr), 0x02);
  // Writing THR empties it at once, so THRE interrupts again.
  wr(kRbrThr, 'q');
  EXPECT_TRUE(sink.level);
  wr(kIer, 0x00);
  EXPECT_FALSE(sink.level);
}

TEST_F(UartTest, RdiOutranksThri) {
  wr(kIer, 0x03);
  uart.receive('r');
  EXPECT_EQ(rd(kIirFcr), 0x04);
  rd(kRbrThr);
  EXPECT_EQ(rd(kIirFcr), 0x02);
}

TEST_F(UartTest, ScratchAndModemRegisters) {
  wr(kScr, 0x5a);
  EXPECT_EQ(rd(kScr), 0x5a);
  wr(kMcr, 0xff);
  EXPECT_EQ(rd(kMcr), 0x1f);
  EXPECT_EQ(rd(kMsr) & 0xf0, 0xf0);  // loopback: all modem inputs follow the outputs
  wr(kMcr, 0x10 | 0x0a);             // the 8250 autoconfig loopback test
  EXPECT_EQ(rd(kMsr) & 0xf0, 0x90);
  wr(kMcr, 0x00);
  EXPECT_EQ(rd(kMsr), 0xb0);  // DCD, DSR, CTS: a peer is connected
}

TEST_F(UartTest, LoopbackSendsThrToReceiver) {
  wr(kMcr, 0x10);
  wr(kRbrThr, 'L');
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(rd(kLsr) & 0x01, 1);
  EXPECT_EQ(rd(kRbrThr), 'L');
}

TEST_F(UartTest, LoopbackOverrunSetsOeOnce) {
  wr(kMcr, 0x10);
  for (size_t i = 0; i < Uart16550::kRxQueueSize; ++i) wr(kRbrThr, 1);
  EXPECT_EQ(rd(kLsr) & 0x02, 0);
  wr(kIer, 0x04);  // RLSI
  wr(kRbrThr, 2);
  EXPECT_TRUE(sink.level);
  EXPECT_EQ(rd(kIirFcr), 0x06);
  EXPECT_EQ(rd(kLsr) & 0x02, 0x02);
  EXPECT_EQ(rd(kLsr) & 0x02, 0);  // cleared by the read
  EXPECT_FALSE(sink.level);
}

TEST_F(UartTest, HostQueueIsBoundedAndOrdered) {
  EXPECT_EQ(uart.rx_space(), Uart16550::kRxQueueSize);
  for (size_t i = 0; i < Uart16550::kRxQueueSize; ++i) {
    ASSERT_TRUE(uart.receive(static_cast<uint8_t>(i)));
  }
  EXPECT_EQ(uart.rx_space(), 0u);
  EXPECT_FALSE(uart.receive(0xff));
  for (size_t i = 0; i < Uart16550::kRxQueueSize; ++i) {
    ASSERT_EQ(rd(kRbrThr), static_cast<uint8_t>(i));
  }
  EXPECT_EQ(rd(kRbrThr), 0);  // empty: reads 0
}

TEST_F(UartTest, ReadOnlyRegistersIgnoreWrites) {
  wr(kLsr, 0xff);
  wr(kMsr, 0x00);
  EXPECT_EQ(rd(kLsr), 0x60);
  EXPECT_EQ(rd(kMsr), 0xb0);
}

TEST_F(UartTest, OffsetsPastTheRegistersReadZero) {
  uint64_t v = 1;
  for (uint64_t off : {8ull, 0x20ull, 0xffull, 0x1000ull, ~0ull}) {
    EXPECT_TRUE(uart.mmio_write(off, 1, 0x41));
    EXPECT_TRUE(uart.mmio_read(off, 1, v));
    EXPECT_EQ(v, 0u);
  }
  EXPECT_TRUE(out.empty());
}

TEST_F(UartTest, WideAccessesSplitIntoBytes) {
  // A 4-byte write at 4 hits MCR, LSR, MSR, SCR in turn.
  EXPECT_TRUE(uart.mmio_write(4, 4, 0x77000003));
  EXPECT_EQ(rd(kMcr), 0x03);
  EXPECT_EQ(rd(kScr), 0x77);
  uint64_t v = 0;
  EXPECT_TRUE(uart.mmio_read(4, 8, v));
  EXPECT_EQ(v, 0x77b06003u);                   // MCR, LSR, MSR, SCR, then four bytes past the end
  EXPECT_TRUE(uart.mmio_write(0, 2, 0x4142));  // THR 'B', IER 0x41 -> 0x01
  EXPECT_EQ(out, (std::vector<uint8_t>{'B'}));
  EXPECT_EQ(rd(kIer), 0x01);
}

TEST_F(UartTest, OddSizesFault) {
  uint64_t v = 0;
  EXPECT_FALSE(uart.mmio_read(0, 3, v));
  EXPECT_FALSE(uart.mmio_write(0, 0, 0));
  EXPECT_FALSE(uart.mmio_write(0, 16, 0));
  EXPECT_TRUE(out.empty());
}

TEST_F(UartTest, IrqLineOnlyToggledOnChange) {
  wr(kIer, 0x01);
  uart.receive('a');
  uart.receive('b');
  rd(kLsr);
  EXPECT_EQ(sink.calls, 1);
}

TEST(Uart16550, WorksWithoutSinkOrOutput) {
  Uart16550 uart(IrqLine{}, nullptr);
  EXPECT_TRUE(uart.mmio_write(1, 1, 0x0f));
  EXPECT_TRUE(uart.mmio_write(0, 1, 'x'));
  EXPECT_TRUE(uart.receive('y'));
  EXPECT_TRUE(uart.irq_level());
}

}  // namespace
}  // namespace vessel
