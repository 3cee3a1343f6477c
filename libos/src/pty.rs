//! Pseudo-terminals (`/dev/ptmx`, `/dev/pts/N`): the master side is read and
//! written by a program such as `script` or a terminal emulator; the slave
//! side is a terminal with the same line discipline as the console. Bytes
//! the master writes are typed at the slave (echo, line editing and signal
//! characters apply); what the slave writes, after output processing, is
//! what the master reads.
use crate::tty::Tty;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use selkie_fs::Ino;

/// Most pseudo-terminals at once (the minors of one major).
pub const MAX_PTYS: u32 = 256;
/// Device major of the slaves (`/dev/pts/N` is 136:N).
pub const PTS_MAJOR: u64 = 136;
/// What the slave may write before the master reads.
pub const OUTPUT_CAPACITY: usize = 65536;

/// One pseudo-terminal pair.
pub struct Pty {
    /// N of /dev/pts/N.
    pub index: u32,
    /// Wait-queue identity of both sides.
    pub id: u64,
    /// The /dev/pts/N node.
    pub ino: Ino,
    /// The slave's terminal state: line discipline, termios, window size,
    /// foreground group and session.
    pub tty: Tty,
    /// Output for the master to read.
    pub output: VecDeque<u8>,
    /// Slave opens fail with EIO until unlockpt (TIOCSPTLCK 0).
    pub locked: bool,
    /// Open descriptions of each side.
    pub masters: usize,
    pub slaves: usize,
    /// A slave has been opened: once all are closed again, the master
    /// reads end of data (EIO), as on Linux.
    pub slave_opened: bool,
    /// Bumped on every change of readiness (edge-triggered epoll).
    pub generation: u64,
}

impl Pty {
    pub fn new(index: u32, id: u64, ino: Ino) -> Self {
        Pty {
            index,
            id,
            ino,
            tty: Tty::default(),
            output: VecDeque::new(),
            locked: true,
            masters: 1,
            slaves: 0,
            slave_opened: false,
            generation: 0,
        }
    }

    /// The slave's device number.
    pub fn rdev(&self) -> u64 {
        (PTS_MAJOR << 8) | self.index as u64
    }

    /// The master writes `data`: typed at the slave. Returns the signals
    /// for the slave's foreground group (^C, ^\, ^Z).
    pub fn master_write(&mut self, data: &[u8]) -> Vec<u32> {
        let mut signals = Vec::new();
        for &b in data {
            let fx = self.tty.input(b);
            self.output.extend(fx.echo);
            signals.extend(fx.signal);
        }
        self.generation += 1;
        signals
    }

    /// Room for slave output (a full buffer makes slave writes wait).
    pub fn output_room(&self) -> usize {
        OUTPUT_CAPACITY.saturating_sub(self.output.len())
    }

    /// The slave writes `data` (output processing applies).
    pub fn slave_write(&mut self, data: &[u8]) {
        let out = self.tty.output(data);
        self.output.extend(out);
        self.generation += 1;
    }

    /// The master reads up to `max` bytes of slave output.
    pub fn master_read(&mut self, max: usize) -> Vec<u8> {
        let n = max.min(self.output.len());
        self.generation += 1;
        self.output.drain(..n).collect()
    }

    /// Whether the master side hung up: the slave reads end of file and
    /// writes fail.
    pub fn hung_up(&self) -> bool {
        self.masters == 0
    }

    /// Whether the master reads end of data: every slave closed, nothing left.
    pub fn slave_gone(&self) -> bool {
        self.slave_opened && self.slaves == 0 && self.output.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_types_at_the_slave_and_reads_its_output() {
        let mut p = Pty::new(0, 1, 2);
        assert_eq!(p.rdev(), 136 << 8);
        // Canonical mode: the line is readable at the newline, echoed back.
        assert!(p.master_write(b"ls\r").is_empty());
        assert!(p.tty.readable());
        assert_eq!(p.tty.read(100), b"ls\n");
        assert_eq!(p.master_read(100), b"ls\r\n");
        // Slave output goes through ONLCR.
        p.slave_write(b"a\nb");
        assert_eq!(p.master_read(2), b"a\r");
        assert_eq!(p.master_read(100), b"\nb");
        // ^C is a signal for the foreground group, echoed as ^C.
        assert_eq!(p.master_write(b"x\x03"), [2]);
        assert_eq!(p.master_read(100), b"x^C\r\n");
        assert!(!p.tty.readable());
    }

    #[test]
    fn hang_ups() {
        let mut p = Pty::new(3, 1, 2);
        assert!(!p.slave_gone(), "no slave opened yet");
        p.slaves = 1;
        p.slave_opened = true;
        p.slave_write(b"bye");
        p.slaves = 0;
        assert!(!p.slave_gone(), "output is still to be read");
        p.master_read(10);
        assert!(p.slave_gone());
        p.masters = 0;
        assert!(p.hung_up());
    }
}
