//! COM1 (16550 UART) through the IOPort capability: polled output, input
//! through the UART's receive interrupt (IOAPIC pin 4) on a notification.
//! In a LibOS instance (feature `instance`) the root task owns the UART and
//! these go through it (`crate::instance`).
#[cfg(not(feature = "instance"))]
pub use uart::*;

#[cfg(feature = "instance")]
pub use through_root::*;

#[cfg(feature = "instance")]
mod through_root {
    pub fn init() {}
    pub fn enable_input_irq(_handler: u64) {}
    pub fn ack_irq() {}
    pub fn write_bytes(data: &[u8]) {
        crate::instance::console_write(data)
    }
    pub fn read_available(buf: &mut [u8]) -> usize {
        crate::instance::console_read(buf)
    }
}

/// Writes text (`println!`'s sink): each newline as CR LF.
pub fn write_text(text: &[u8]) {
    for part in text.split_inclusive(|&b| b == b'\n') {
        if let Some(line) = part.strip_suffix(b"\n") {
            write_bytes(line);
            write_bytes(b"\r\n");
        } else {
            write_bytes(part);
        }
    }
}

#[cfg(not(feature = "instance"))]
mod uart {
    use selkie_sel4::{consts::*, invoke};

    const COM1: u16 = 0x3f8;
    static mut IRQ_HANDLER: u64 = 0;

    fn out8(port: u16, v: u8) {
        let _ = invoke::ioport_out8(seL4_CapIOPort, port, v);
    }

    fn in8(port: u16) -> u8 {
        invoke::ioport_in8(seL4_CapIOPort, port).unwrap_or(0)
    }

    /// Programs the UART: 115200 8N1, FIFOs on, interrupts off until input is set up.
    pub fn init() {
        out8(COM1 + 1, 0x00); // IER: no interrupts
        out8(COM1 + 3, 0x80); // LCR: DLAB
        out8(COM1, 0x01); // divisor 1: 115200 baud
        out8(COM1 + 1, 0x00);
        out8(COM1 + 3, 0x03); // 8N1
        out8(COM1 + 2, 0xc7); // FIFO on, cleared, 14-byte threshold
        out8(COM1 + 4, 0x0b); // DTR, RTS, OUT2 (routes the IRQ)
    }

    /// Enables receive interrupts, delivered through IRQ `handler`.
    pub fn enable_input_irq(handler: u64) {
        // SAFETY: single-threaded root task; set once at boot.
        unsafe { IRQ_HANDLER = handler };
        out8(COM1 + 1, 0x01); // IER: received data available
        let _ = invoke::irq_handler_ack(handler);
    }

    /// Acknowledges the receive interrupt (after draining the UART).
    pub fn ack_irq() {
        // SAFETY: read-only after boot.
        let h = unsafe { IRQ_HANDLER };
        if h != 0 {
            let _ = invoke::irq_handler_ack(h);
        }
    }

    /// Writes bytes, waiting for the transmitter every 16 bytes (the FIFO size).
    pub fn write_bytes(data: &[u8]) {
        for chunk in data.chunks(16) {
            while in8(COM1 + 5) & 0x20 == 0 {}
            for &b in chunk {
                out8(COM1, b);
            }
        }
    }

    /// Reads whatever input is waiting, without blocking.
    pub fn read_available(buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() && in8(COM1 + 5) & 1 != 0 {
            buf[n] = in8(COM1);
            n += 1;
        }
        n
    }
}
