//! Linux uapi structures (x86_64 layouts) with explicit little-endian encoding.
use linux_raw_sys::general as g;

fn put(b: &mut [u8], off: usize, v: &[u8]) {
    b[off..off + v.len()].copy_from_slice(v);
}

fn word(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

/// `struct timespec`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

impl Timespec {
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        put(&mut b, 0, &self.tv_sec.to_le_bytes());
        put(&mut b, 8, &self.tv_nsec.to_le_bytes());
        b
    }
    pub fn from_bytes(b: &[u8; 16]) -> Self {
        Timespec {
            tv_sec: word(b, 0) as i64,
            tv_nsec: word(b, 8) as i64,
        }
    }
}

/// `struct timeval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Timeval {
    pub tv_sec: i64,
    pub tv_usec: i64,
}

impl Timeval {
    pub fn to_bytes(self) -> [u8; 16] {
        Timespec {
            tv_sec: self.tv_sec,
            tv_nsec: self.tv_usec,
        }
        .to_bytes()
    }
}

/// `struct iovec`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Iovec {
    pub base: u64,
    pub len: u64,
}

impl Iovec {
    pub fn from_bytes(b: [u8; 16]) -> Self {
        Iovec {
            base: word(&b, 0),
            len: word(&b, 8),
        }
    }
}

/// `struct rlimit` / `struct rlimit64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

impl Rlimit {
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        put(&mut b, 0, &self.cur.to_le_bytes());
        put(&mut b, 8, &self.max.to_le_bytes());
        b
    }
    pub fn from_bytes(b: &[u8; 16]) -> Self {
        Rlimit {
            cur: word(b, 0),
            max: word(b, 8),
        }
    }
}

/// `struct new_utsname`: six 65-byte NUL-padded fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Utsname {
    fields: [[u8; 65]; 6],
}

impl Utsname {
    /// Size in bytes.
    pub const SIZE: usize = 390;
    /// Builds it from sysname, nodename, release, version, machine, domainname
    /// (each cut to 64 bytes).
    pub fn new(sys: &str, node: &str, rel: &str, ver: &str, mach: &str, dom: &str) -> Self {
        let mut fields = [[0u8; 65]; 6];
        for (f, s) in fields.iter_mut().zip([sys, node, rel, ver, mach, dom]) {
            let n = s.len().min(64);
            f[..n].copy_from_slice(&s.as_bytes()[..n]);
        }
        Utsname { fields }
    }
    pub fn to_bytes(&self) -> [u8; 390] {
        let mut b = [0u8; 390];
        for (i, f) in self.fields.iter().enumerate() {
            put(&mut b, i * 65, f);
        }
        b
    }
}

/// `struct winsize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Winsize {
    pub ws_row: u16,
    pub ws_col: u16,
    pub ws_xpixel: u16,
    pub ws_ypixel: u16,
}

impl Winsize {
    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        for (i, v) in [self.ws_row, self.ws_col, self.ws_xpixel, self.ws_ypixel]
            .into_iter()
            .enumerate()
        {
            put(&mut b, i * 2, &v.to_le_bytes());
        }
        b
    }
}

/// The 36-byte `struct termios` of TCGETS on x86_64 (kernel layout, NCCS 19).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelTermios {
    pub c_iflag: u32,
    pub c_oflag: u32,
    pub c_cflag: u32,
    pub c_lflag: u32,
    pub c_line: u8,
    pub c_cc: [u8; 19],
}

impl KernelTermios {
    /// Linux's defaults for a freshly opened terminal (tty_std_termios).
    pub fn default_console() -> Self {
        let mut c_cc = [0u8; 19];
        // INIT_C_CC: ^C ^\ ^? ^U ^D 0 1 0 ^Q ^S ^Z 0 ^R ^O ^W ^V 0.
        let init = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0];
        c_cc[..init.len()].copy_from_slice(&init);
        KernelTermios {
            c_iflag: g::ICRNL | g::IXON,
            c_oflag: g::OPOST | g::ONLCR,
            c_cflag: g::B38400 | g::CS8 | g::CREAD | g::HUPCL,
            c_lflag: g::ISIG
                | g::ICANON
                | g::ECHO
                | g::ECHOE
                | g::ECHOK
                | g::ECHOCTL
                | g::ECHOKE
                | g::IEXTEN,
            c_line: 0,
            c_cc,
        }
    }
    pub fn from_bytes(b: &[u8; 36]) -> Self {
        let w = |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        let mut c_cc = [0u8; 19];
        c_cc.copy_from_slice(&b[17..36]);
        KernelTermios {
            c_iflag: w(0),
            c_oflag: w(1),
            c_cflag: w(2),
            c_lflag: w(3),
            c_line: b[16],
            c_cc,
        }
    }

    pub fn to_bytes(&self) -> [u8; 36] {
        let mut b = [0u8; 36];
        for (i, v) in [self.c_iflag, self.c_oflag, self.c_cflag, self.c_lflag]
            .into_iter()
            .enumerate()
        {
            put(&mut b, i * 4, &v.to_le_bytes());
        }
        b[16] = self.c_line;
        put(&mut b, 17, &self.c_cc);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_offsets() {
        assert_eq!(
            Utsname::new("Linux", "n", "r", "v", "x86_64", "d")
                .to_bytes()
                .len(),
            390
        );
        let u = Utsname::new("Linux", "n", "r", "v", "x86_64", "d").to_bytes();
        assert_eq!(&u[0..6], b"Linux\0");
        assert_eq!(&u[4 * 65..4 * 65 + 7], b"x86_64\0");
        let t = KernelTermios::default_console().to_bytes();
        assert_eq!(t.len(), 36);
        assert_eq!(t[17 + 4], 4); // VEOF = ^D
        assert_eq!(
            u32::from_le_bytes(t[4..8].try_into().unwrap()),
            g::OPOST | g::ONLCR
        );
        let w = Winsize {
            ws_row: 24,
            ws_col: 80,
            ..Default::default()
        }
        .to_bytes();
        assert_eq!(w, [24, 0, 80, 0, 0, 0, 0, 0]);
        let ts = Timespec {
            tv_sec: 1,
            tv_nsec: 2,
        };
        assert_eq!(Timespec::from_bytes(&ts.to_bytes()), ts);
    }
}
