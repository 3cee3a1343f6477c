//! The console's line discipline: canonical (line) mode with echo, erase,
//! kill and end-of-file; non-canonical mode; signal characters (^C, ^\, ^Z)
//! and output processing, as the termios settings say.
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use selkie_syscalls::types::KernelTermios;

// termios flag bits (asm-generic/termbits.h).
const ICRNL: u32 = 0o400;
const INLCR: u32 = 0o100;
const IGNCR: u32 = 0o200;
const OPOST: u32 = 0o1;
const ONLCR: u32 = 0o4;
const ISIG: u32 = 0o1;
const ICANON: u32 = 0o2;
const ECHO: u32 = 0o10;
const ECHOE: u32 = 0o20;
const ECHOK: u32 = 0o40;
const ECHOCTL: u32 = 0o1000;
// c_cc indices.
const VINTR: usize = 0;
const VQUIT: usize = 1;
const VERASE: usize = 2;
const VKILL: usize = 3;
const VEOF: usize = 4;
const VTIME: usize = 5;
const VMIN: usize = 6;
const VSUSP: usize = 10;
const VWERASE: usize = 14;

/// What reading finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Byte(u8),
    /// End of file (^D on an empty line).
    Eof,
}

/// The console's terminal state.
pub struct Tty {
    pub termios: KernelTermios,
    pub rows: u16,
    pub cols: u16,
    /// The line being edited (canonical mode).
    line: Vec<u8>,
    /// What reads may take.
    ready: VecDeque<Unit>,
    /// Bumped on every input byte (edge-triggered epoll).
    pub generation: u64,
    /// When the last input byte arrived (monotonic ns; VTIME's inter-byte
    /// timer).
    pub last_input_ns: u64,
    /// The foreground process group (0: none).
    pub pgrp: u32,
    /// The session this is the controlling terminal of (0: none).
    pub sid: u32,
}

impl Default for Tty {
    fn default() -> Self {
        Tty {
            termios: KernelTermios::default_console(),
            rows: 24,
            cols: 80,
            line: Vec::new(),
            ready: VecDeque::new(),
            generation: 0,
            last_input_ns: 0,
            pgrp: 0,
            sid: 0,
        }
    }
}

/// The effect of one input byte.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct InputEffect {
    /// Bytes to echo.
    pub echo: Vec<u8>,
    /// A signal for the foreground process group.
    pub signal: Option<u32>,
}

impl Tty {
    fn lflag(&self, f: u32) -> bool {
        self.termios.c_lflag & f != 0
    }

    fn echo_char(&self, b: u8, out: &mut Vec<u8>) {
        if !self.lflag(ECHO) {
            return;
        }
        if b < 0x20 && b != b'\n' && b != b'\t' && self.lflag(ECHOCTL) {
            out.extend_from_slice(&[b'^', b + 0x40]);
        } else if b == b'\n' {
            out.extend_from_slice(b"\r\n");
        } else {
            out.push(b);
        }
    }

    /// Takes one byte typed on the console.
    pub fn input(&mut self, mut b: u8) -> InputEffect {
        let mut fx = InputEffect::default();
        let cc = self.termios.c_cc;
        let iflag = self.termios.c_iflag;
        if b == b'\r' {
            if iflag & IGNCR != 0 {
                return fx;
            }
            if iflag & ICRNL != 0 {
                b = b'\n';
            }
        } else if b == b'\n' && iflag & INLCR != 0 {
            b = b'\r';
        }
        if self.lflag(ISIG) {
            let sig = if b == cc[VINTR] && b != 0 {
                Some(2)
            } else if b == cc[VQUIT] && b != 0 {
                Some(3)
            } else if b == cc[VSUSP] && b != 0 {
                Some(20)
            } else {
                None
            };
            if let Some(s) = sig {
                self.echo_char(b, &mut fx.echo);
                if self.lflag(ECHO) {
                    fx.echo.extend_from_slice(b"\r\n");
                }
                self.line.clear();
                fx.signal = Some(s);
                return fx;
            }
        }
        if !self.lflag(ICANON) {
            self.echo_char(b, &mut fx.echo);
            self.ready.push_back(Unit::Byte(b));
            return fx;
        }
        if b == cc[VERASE] || b == 0x08 {
            if self.line.pop().is_some() && self.lflag(ECHO) && self.lflag(ECHOE) {
                fx.echo.extend_from_slice(b"\x08 \x08");
            }
        } else if b == cc[VWERASE] {
            while self.line.last() == Some(&b' ') {
                self.line.pop();
                fx.echo.extend_from_slice(b"\x08 \x08");
            }
            while self.line.last().is_some_and(|&c| c != b' ') {
                self.line.pop();
                fx.echo.extend_from_slice(b"\x08 \x08");
            }
            if !self.lflag(ECHO) {
                fx.echo.clear();
            }
        } else if b == cc[VKILL] {
            let n = self.line.len();
            self.line.clear();
            if self.lflag(ECHO) && self.lflag(ECHOK) {
                for _ in 0..n {
                    fx.echo.extend_from_slice(b"\x08 \x08");
                }
            }
        } else if b == cc[VEOF] {
            if self.line.is_empty() {
                self.ready.push_back(Unit::Eof);
            } else {
                self.ready.extend(self.line.drain(..).map(Unit::Byte));
            }
        } else if b == b'\n' {
            self.echo_char(b, &mut fx.echo);
            self.line.push(b);
            self.ready.extend(self.line.drain(..).map(Unit::Byte));
        } else {
            self.echo_char(b, &mut fx.echo);
            if self.line.len() < 4095 {
                self.line.push(b);
            }
        }
        fx
    }

    /// Whether a read would return now (before any VTIME timeout).
    pub fn readable(&self) -> bool {
        let (min, time) = (self.termios.c_cc[VMIN] as usize, self.termios.c_cc[VTIME]);
        if self.lflag(ICANON) {
            !self.ready.is_empty()
        } else if min == 0 {
            // MIN 0: at once, or with TIME, when a byte is there.
            time == 0 || !self.ready.is_empty()
        } else {
            self.ready.len() >= min
        }
    }

    /// When a waiting read that began at `since_ns` ends anyway, in
    /// non-canonical mode with VTIME: TIME tenths of a second after it began
    /// (MIN 0), or after the last byte once one has arrived (MIN > 0).
    pub fn read_deadline(&self, since_ns: u64) -> Option<u64> {
        let time = self.termios.c_cc[VTIME] as u64 * 100_000_000;
        if self.lflag(ICANON) || time == 0 {
            return None;
        }
        if self.termios.c_cc[VMIN] == 0 {
            Some(since_ns + time)
        } else if !self.ready.is_empty() {
            Some(self.last_input_ns.max(since_ns) + time)
        } else {
            None
        }
    }

    /// Reads up to `max` bytes: one line at most in canonical mode (an empty
    /// result is end of file).
    pub fn read(&mut self, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.ready.front() {
                Some(Unit::Byte(b)) => {
                    let b = *b;
                    self.ready.pop_front();
                    out.push(b);
                    if b == b'\n' && self.lflag(ICANON) {
                        break;
                    }
                }
                Some(Unit::Eof) => {
                    if out.is_empty() {
                        self.ready.pop_front();
                    }
                    break;
                }
                None => break,
            }
        }
        out
    }

    /// Output processing (OPOST | ONLCR: "\n" becomes "\r\n").
    pub fn output(&self, data: &[u8]) -> Vec<u8> {
        let o = self.termios.c_oflag;
        if o & OPOST == 0 || o & ONLCR == 0 {
            return data.to_vec();
        }
        let mut out = Vec::with_capacity(data.len() + 16);
        for &b in data {
            if b == b'\n' {
                out.push(b'\r');
            }
            out.push(b);
        }
        out
    }

    /// Sets the termios (TCSETS*); `flush` drops pending input (TCSETSF).
    pub fn set_termios(&mut self, t: KernelTermios, flush: bool) {
        // Leaving canonical mode makes the edited line readable.
        if self.lflag(ICANON) && t.c_lflag & ICANON == 0 {
            self.ready.extend(self.line.drain(..).map(Unit::Byte));
        }
        self.termios = t;
        if flush {
            self.line.clear();
            self.ready.clear();
        }
    }

    /// Drops typed input not yet read (TCFLSH).
    pub fn flush_input(&mut self) {
        self.line.clear();
        self.ready.clear();
    }

    /// Bytes waiting (FIONREAD).
    pub fn pending(&self) -> usize {
        self.ready
            .iter()
            .filter(|u| matches!(u, Unit::Byte(_)))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(t: &mut Tty, s: &[u8]) -> Vec<u8> {
        let mut echo = Vec::new();
        for &b in s {
            echo.extend(t.input(b).echo);
        }
        echo
    }

    #[test]
    fn canonical_lines_with_echo_and_editing() {
        let mut t = Tty::default();
        let echo = typed(&mut t, b"lz\x7fs\r");
        assert_eq!(echo, b"lz\x08 \x08s\r\n");
        assert!(t.readable());
        assert_eq!(t.read(100), b"ls\n");
        assert!(!t.readable());
        typed(&mut t, b"abc\x15x\n");
        assert_eq!(t.read(100), b"x\n");
        // ^D on an empty line is end of file; mid-line it pushes the line.
        typed(&mut t, b"\x04");
        assert!(t.readable());
        assert_eq!(t.read(100), b"");
        typed(&mut t, b"ab\x04");
        assert_eq!(t.read(100), b"ab");
        // A read returns one line at most.
        typed(&mut t, b"1\n2\n");
        assert_eq!(t.read(100), b"1\n");
        assert_eq!(t.read(100), b"2\n");
    }

    #[test]
    fn vmin_and_vtime() {
        let mut t = Tty::default();
        let mut raw = t.termios;
        raw.c_lflag &= !(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 3;
        t.set_termios(raw, true);
        // MIN 0, TIME 3: nothing to read yet, 300 ms after the read began.
        assert!(!t.readable());
        assert_eq!(t.read_deadline(1_000), Some(300_001_000));
        typed(&mut t, b"a");
        assert!(t.readable());
        // MIN 2, TIME 3: the timer runs from the last byte once one is there.
        raw.c_cc[VMIN] = 2;
        t.set_termios(raw, true);
        assert_eq!(t.read_deadline(0), None);
        t.last_input_ns = 5_000;
        typed(&mut t, b"a");
        assert!(!t.readable());
        assert_eq!(t.read_deadline(0), Some(300_005_000));
        typed(&mut t, b"b");
        assert!(t.readable());
        // Canonical mode has no timer.
        t.set_termios(Tty::default().termios, true);
        assert_eq!(t.read_deadline(0), None);
    }

    #[test]
    fn signals_and_raw_mode() {
        let mut t = Tty::default();
        typed(&mut t, b"partial");
        let fx = t.input(3);
        assert_eq!(fx.signal, Some(2));
        assert_eq!(fx.echo, b"^C\r\n");
        assert!(!t.readable(), "the line is dropped");
        assert_eq!(t.input(0x1a).signal, Some(20));
        let mut raw = t.termios;
        raw.c_lflag &= !(ICANON | ECHO);
        t.set_termios(raw, true);
        assert_eq!(typed(&mut t, b"q"), b"");
        assert!(t.readable());
        assert_eq!(t.read(10), b"q");
        assert_eq!(t.output(b"a\nb"), b"a\r\nb");
    }
}
