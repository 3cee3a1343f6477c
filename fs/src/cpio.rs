//! A reader for "newc" cpio archives (the initial file tree linked into the
//! root task image), and [`write_member`], which makes them (an instance's
//! own files at build time, tests).
use alloc::vec::Vec;

/// One archive member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Path without a leading "./" or "/" (bytes, as file names are).
    pub name: &'a [u8],
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    pub data: &'a [u8],
}

impl Entry<'_> {
    pub fn is_dir(&self) -> bool {
        self.mode & 0o170000 == 0o040000
    }
    pub fn is_file(&self) -> bool {
        self.mode & 0o170000 == 0o100000
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & 0o170000 == 0o120000
    }
}

/// Why an archive cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioError {
    Truncated,
    BadMagic,
    BadNumber,
    BadName,
}

fn hex(b: &[u8]) -> Result<u32, CpioError> {
    let s = core::str::from_utf8(b).map_err(|_| CpioError::BadNumber)?;
    u32::from_str_radix(s, 16).map_err(|_| CpioError::BadNumber)
}

fn align4(x: usize) -> usize {
    (x + 3) & !3
}

/// `name` without the leading "./"s and "/"s.
fn trim_start(mut name: &[u8]) -> &[u8] {
    while let Some(rest) = name.strip_prefix(b"./") {
        name = rest;
    }
    while let Some(rest) = name.strip_prefix(b"/") {
        name = rest;
    }
    name
}

/// Parses every entry up to the TRAILER!!! record.
pub fn parse(archive: &[u8]) -> Result<Vec<Entry<'_>>, CpioError> {
    let mut out = Vec::new();
    let mut off = 0usize;
    loop {
        let hdr = archive.get(off..off + 110).ok_or(CpioError::Truncated)?;
        if &hdr[..6] != b"070701" && &hdr[..6] != b"070702" {
            return Err(CpioError::BadMagic);
        }
        let field = |i: usize| hex(&hdr[6 + i * 8..14 + i * 8]);
        let mode = field(1)?;
        let mtime = field(5)? as u64;
        let filesize = field(6)? as usize;
        let namesize = field(11)? as usize;
        let name_start = off + 110;
        let name_end = name_start
            .checked_add(namesize)
            .ok_or(CpioError::Truncated)?;
        let name = archive
            .get(name_start..name_end)
            .ok_or(CpioError::Truncated)?;
        let name = name.strip_suffix(&[0]).ok_or(CpioError::BadName)?;
        let data_start = align4(name_end);
        let data_end = data_start
            .checked_add(filesize)
            .ok_or(CpioError::Truncated)?;
        let data = archive
            .get(data_start..data_end)
            .ok_or(CpioError::Truncated)?;
        if name == b"TRAILER!!!" {
            return Ok(out);
        }
        let name = trim_start(name);
        if !name.is_empty() && name != b"." {
            out.push(Entry {
                name,
                mode,
                mtime,
                data,
            });
        }
        off = align4(data_end);
    }
}

/// Finds the file at absolute `path`, following symlinks inside the archive
/// (at most 8 hops).
pub fn lookup<'a>(entries: &[Entry<'a>], path: &[u8]) -> Option<Entry<'a>> {
    let start = path.iter().position(|&b| b != b'/').unwrap_or(path.len());
    let mut p: Vec<u8> = path[start..].to_vec();
    for _ in 0..8 {
        let e = entries.iter().find(|e| e.name == p.as_slice())?;
        if !e.is_symlink() {
            return Some(*e);
        }
        let target = e.data;
        p = if let Some(abs) = target.strip_prefix(b"/") {
            abs.to_vec()
        } else {
            match p.iter().rposition(|&b| b == b'/') {
                Some(i) => [&p[..=i], target].concat(),
                None => target.to_vec(),
            }
        };
    }
    None
}

/// Appends one newc member to `out`: its name (an archive ends with a
/// member named `TRAILER!!!`), inode number, mode, modification time and
/// data (a file's contents, a symbolic link's target).
pub fn write_member(out: &mut Vec<u8>, name: &[u8], ino: u32, mode: u32, mtime: u32, data: &[u8]) {
    fn pad4(out: &mut Vec<u8>) {
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    let fields = [
        ino,
        mode,
        0,
        0,
        1,
        mtime,
        data.len() as u32,
        0,
        0,
        0,
        0,
        name.len() as u32 + 1,
        0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        for shift in (0..8).rev() {
            out.push(b"0123456789abcdef"[(f >> (shift * 4) & 0xf) as usize]);
        }
    }
    out.extend_from_slice(name);
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn member(out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
        write_member(out, name.as_bytes(), 1, mode, 1_700_000_000, data);
    }

    fn sample() -> Vec<u8> {
        let mut a = Vec::new();
        member(&mut a, ".", 0o040755, b"");
        member(&mut a, "bin", 0o040755, b"");
        member(&mut a, "bin/busybox", 0o100755, b"\x7fELF...");
        member(&mut a, "bin/sh", 0o120777, b"busybox");
        member(&mut a, "sbin/sh", 0o120777, b"/bin/sh");
        member(&mut a, "TRAILER!!!", 0, b"");
        a
    }

    #[test]
    fn parses_members_and_follows_links() {
        let a = sample();
        let e = parse(&a).unwrap();
        assert_eq!(e.len(), 4);
        assert!(e[0].is_dir());
        let f = lookup(&e, b"/sbin/sh").unwrap();
        assert_eq!(f.name, b"bin/busybox");
        assert_eq!(f.data, b"\x7fELF...");
        assert_eq!(f.mtime, 1_700_000_000);
        assert!(lookup(&e, b"/nope").is_none());
    }

    #[test]
    fn truncated_or_garbage_never_panics() {
        let a = sample();
        for n in 0..a.len() {
            let _ = parse(&a[..n]);
        }
        let mut b = a.clone();
        for i in 0..b.len() {
            b[i] ^= 0x5a;
            let _ = parse(&b);
            b[i] ^= 0x5a;
        }
        assert_eq!(parse(b"garbage"), Err(CpioError::Truncated));
    }
}
