//! The on-disk structures of ext2 (revision 0 and 1, little-endian) as plain
//! values, with pure parse and store functions.
//!
//! `parse` reads every field the driver uses; `store` writes back only the
//! fields the driver changes, so bytes it does not understand (UUIDs, hash
//! seeds, in-inode extended attributes) survive untouched.
use crate::Kind;
use selkie_syscalls::errno::Errno;

/// The superblock's byte offset on the device, and its length.
pub const SUPER_OFFSET: usize = 1024;
pub const SUPER_LEN: usize = 1024;
pub const MAGIC: u16 = 0xef53;
/// s_state: cleanly unmounted, and errors detected.
pub const STATE_VALID: u16 = 1;
pub const STATE_ERROR: u16 = 2;
/// The root directory's inode.
pub const ROOT_INO: u32 = 2;
/// Most links an inode may have (EXT2_LINK_MAX).
pub const LINK_MAX: u16 = 32000;
/// Bytes of a group descriptor (no 64bit feature).
pub const DESC_LEN: usize = 32;
/// The size of the "good old" inode, and of `i_block`.
pub const OLD_INODE_LEN: usize = 128;
pub const IBLOCK_LEN: usize = 60;
/// i_flags: a hashed-index directory (cleared when the driver changes one).
pub const INDEX_FL: u32 = 0x1000;

/// Features the driver implements. Compatible features are safe to ignore
/// by definition; of those that matter, dir_index is handled by clearing a
/// changed directory's index flag, as Linux's ext2 does.
pub const INCOMPAT_FILETYPE: u32 = 0x2;
pub const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
pub const RO_COMPAT_LARGE_FILE: u32 = 0x2;
const INCOMPAT_KNOWN: u32 = INCOMPAT_FILETYPE;
const RO_COMPAT_KNOWN: u32 = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;

/// Names of the features the driver refuses, for the mount error.
const INCOMPAT_NAMES: [(u32, &str); 12] = [
    (0x1, "compression"),
    (0x4, "journal needs recovery"),
    (0x8, "journal device"),
    (0x10, "meta_bg"),
    (0x40, "extents"),
    (0x80, "64bit"),
    (0x100, "mmp"),
    (0x200, "flex_bg"),
    (0x400, "ea_inode"),
    (0x1000, "dirdata"),
    (0x8000, "inline_data"),
    (0x10000, "encrypt"),
];
const RO_COMPAT_NAMES: [(u32, &str); 7] = [
    (0x8, "huge_file"),
    (0x10, "gdt_csum"),
    (0x20, "dir_nlink"),
    (0x40, "extra_isize"),
    (0x100, "quota"),
    (0x400, "metadata_csum"),
    (0x2000, "project"),
];

pub fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}
pub fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}
pub fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
pub fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// The superblock fields the driver uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Superblock {
    pub inodes_count: u32,
    pub blocks_count: u32,
    pub free_blocks: u32,
    pub free_inodes: u32,
    pub first_data_block: u32,
    pub log_block_size: u32,
    pub blocks_per_group: u32,
    pub inodes_per_group: u32,
    pub magic: u16,
    pub state: u16,
    pub rev_level: u32,
    pub first_ino: u32,
    pub inode_size: u16,
    pub feature_compat: u32,
    pub feature_incompat: u32,
    pub feature_ro_compat: u32,
}

impl Superblock {
    /// Parses the [`SUPER_LEN`] bytes of a superblock. Revision 0 has fixed
    /// inode geometry and no feature words.
    pub fn parse(b: &[u8]) -> Self {
        let rev_level = le32(b, 76);
        let dynamic = rev_level >= 1;
        Superblock {
            inodes_count: le32(b, 0),
            blocks_count: le32(b, 4),
            free_blocks: le32(b, 12),
            free_inodes: le32(b, 16),
            first_data_block: le32(b, 20),
            log_block_size: le32(b, 24),
            blocks_per_group: le32(b, 32),
            inodes_per_group: le32(b, 40),
            magic: le16(b, 56),
            state: le16(b, 58),
            rev_level,
            first_ino: if dynamic { le32(b, 84) } else { 11 },
            inode_size: if dynamic { le16(b, 88) } else { 128 },
            feature_compat: if dynamic { le32(b, 92) } else { 0 },
            feature_incompat: if dynamic { le32(b, 96) } else { 0 },
            feature_ro_compat: if dynamic { le32(b, 100) } else { 0 },
        }
    }

    /// Writes the fields the driver changes (free counts, state, read-only
    /// compatible features) into a superblock's bytes.
    pub fn store(&self, b: &mut [u8]) {
        put32(b, 12, self.free_blocks);
        put32(b, 16, self.free_inodes);
        put16(b, 58, self.state);
        if self.rev_level >= 1 {
            put32(b, 100, self.feature_ro_compat);
        }
    }

    /// The block size in bytes (`log_block_size` checked by the caller).
    pub fn block_size(&self) -> usize {
        1024 << self.log_block_size
    }

    /// The first feature the driver does not implement, by name.
    pub fn unsupported(&self) -> Option<&'static str> {
        let name = |word: u32, known: u32, names: &[(u32, &'static str)]| {
            let bad = word & !known;
            (bad != 0).then(|| {
                names
                    .iter()
                    .find(|(bit, _)| bad & bit != 0)
                    .map_or("an unknown feature", |(_, n)| n)
            })
        };
        name(self.feature_incompat, INCOMPAT_KNOWN, &INCOMPAT_NAMES)
            .or_else(|| name(self.feature_ro_compat, RO_COMPAT_KNOWN, &RO_COMPAT_NAMES))
    }
}

/// A block group descriptor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub block_bitmap: u32,
    pub inode_bitmap: u32,
    pub inode_table: u32,
    pub free_blocks: u16,
    pub free_inodes: u16,
    pub used_dirs: u16,
}

impl Group {
    /// Parses a [`DESC_LEN`]-byte descriptor.
    pub fn parse(b: &[u8]) -> Self {
        Group {
            block_bitmap: le32(b, 0),
            inode_bitmap: le32(b, 4),
            inode_table: le32(b, 8),
            free_blocks: le16(b, 12),
            free_inodes: le16(b, 14),
            used_dirs: le16(b, 16),
        }
    }

    /// Writes the counts back (the locations never change).
    pub fn store(&self, b: &mut [u8]) {
        put16(b, 12, self.free_blocks);
        put16(b, 14, self.free_inodes);
        put16(b, 16, self.used_dirs);
    }
}

/// S_IFMT and the type bits.
const S_IFMT: u16 = 0o170000;

/// An inode's fields the driver uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inode {
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    /// Bytes; the high half counts for regular files only (large_file).
    pub size: u64,
    pub atime: u32,
    pub ctime: u32,
    pub mtime: u32,
    pub dtime: u32,
    pub links: u16,
    /// 512-byte sectors held: data, indirect and extended attribute blocks.
    pub blocks: u32,
    pub flags: u32,
    /// Block pointers (12 direct, single, double and triple indirect), or a
    /// fast symlink's target, or a device number.
    pub block: [u32; 15],
    /// The extended attribute block, if any.
    pub file_acl: u32,
}

impl Inode {
    /// Parses an inode record of at least [`OLD_INODE_LEN`] bytes.
    pub fn parse(b: &[u8]) -> Self {
        let mode = le16(b, 0);
        let mut block = [0; 15];
        for (i, p) in block.iter_mut().enumerate() {
            *p = le32(b, 40 + 4 * i);
        }
        let high = if mode & S_IFMT == 0o100000 {
            u64::from(le32(b, 108)) << 32
        } else {
            0
        };
        Inode {
            mode,
            uid: u32::from(le16(b, 2)) | u32::from(le16(b, 120)) << 16,
            gid: u32::from(le16(b, 24)) | u32::from(le16(b, 122)) << 16,
            size: u64::from(le32(b, 4)) | high,
            atime: le32(b, 8),
            ctime: le32(b, 12),
            mtime: le32(b, 16),
            dtime: le32(b, 20),
            links: le16(b, 26),
            blocks: le32(b, 28),
            flags: le32(b, 32),
            block,
            file_acl: le32(b, 104),
        }
    }

    /// Writes the fields back into an inode record; the rest (the extra
    /// fields of large inodes, a directory's i_dir_acl) stays.
    pub fn store(&self, b: &mut [u8]) {
        put16(b, 0, self.mode);
        put16(b, 2, self.uid as u16);
        put32(b, 4, self.size as u32);
        put32(b, 8, self.atime);
        put32(b, 12, self.ctime);
        put32(b, 16, self.mtime);
        put32(b, 20, self.dtime);
        put16(b, 24, self.gid as u16);
        put16(b, 26, self.links);
        put32(b, 28, self.blocks);
        put32(b, 32, self.flags);
        for (i, p) in self.block.iter().enumerate() {
            put32(b, 40 + 4 * i, *p);
        }
        put32(b, 104, self.file_acl);
        if self.mode & S_IFMT == 0o100000 {
            put32(b, 108, (self.size >> 32) as u32);
        }
        put16(b, 120, (self.uid >> 16) as u16);
        put16(b, 122, (self.gid >> 16) as u16);
    }

    /// What the inode is (EUCLEAN for a type ext2 does not have).
    pub fn kind(&self) -> Result<Kind, Errno> {
        Ok(match self.mode & S_IFMT {
            0o100000 => Kind::File,
            0o040000 => Kind::Dir,
            0o120000 => Kind::Symlink,
            0o020000 => Kind::CharDev(decode_dev(&self.block)),
            0o060000 => Kind::BlockDev(decode_dev(&self.block)),
            0o010000 => Kind::Fifo,
            0o140000 => Kind::Socket,
            _ => return Err(Errno::EUCLEAN),
        })
    }

    /// The permission bits.
    pub fn perm(&self) -> u32 {
        u32::from(self.mode & 0o7777)
    }

    /// Whether `block` holds block pointers: regular files, directories
    /// and symlinks too long for [`IBLOCK_LEN`] bytes (whose `blocks` count
    /// more than an extended attribute block).
    pub fn has_blocks(&self, block_size: usize) -> bool {
        match self.mode & S_IFMT {
            0o100000 | 0o040000 => true,
            0o120000 => {
                let xattr = if self.file_acl != 0 {
                    block_size / 512
                } else {
                    0
                };
                self.blocks as usize > xattr
            }
            _ => false,
        }
    }

    /// The i_block bytes (a fast symlink's target).
    pub fn block_bytes(&self) -> [u8; IBLOCK_LEN] {
        let mut out = [0; IBLOCK_LEN];
        for (c, p) in out.chunks_exact_mut(4).zip(self.block) {
            c.copy_from_slice(&p.to_le_bytes());
        }
        out
    }

    /// Sets i_block from bytes (at most [`IBLOCK_LEN`]).
    pub fn set_block_bytes(&mut self, bytes: &[u8]) {
        let mut raw = [0; IBLOCK_LEN];
        raw[..bytes.len()].copy_from_slice(bytes);
        for (p, c) in self.block.iter_mut().zip(raw.chunks_exact(4)) {
            *p = le32(c, 0);
        }
    }
}

/// The i_mode type bits of a kind.
pub fn mode_type(kind: Kind) -> u16 {
    kind.mode_bits() as u16
}

/// The directory entry file type of a kind (filetype feature).
pub fn file_type(kind: Kind) -> u8 {
    match kind {
        Kind::File => 1,
        Kind::Dir => 2,
        Kind::CharDev(_) => 3,
        Kind::BlockDev(_) => 4,
        Kind::Fifo => 5,
        Kind::Socket => 6,
        Kind::Symlink => 7,
    }
}

/// A device number as [`Kind`] holds it (`major << 8 | minor`) from i_block:
/// Linux's old 8:8 encoding in i_block[0], or the new one in i_block[1].
pub fn decode_dev(block: &[u32; 15]) -> u64 {
    let (major, minor) = if block[0] != 0 {
        ((block[0] >> 8) & 0xff, block[0] & 0xff)
    } else {
        let d = block[1];
        ((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00))
    };
    u64::from(major) << 8 | u64::from(minor)
}

/// Stores a device number into i_block as Linux's ext2 does.
pub fn encode_dev(rdev: u64, block: &mut [u32; 15]) {
    let (major, minor) = ((rdev >> 8) as u32 & 0xfff, rdev as u32 & 0xff);
    *block = [0; 15];
    if major < 256 {
        block[0] = major << 8 | minor;
    } else {
        block[1] = minor | major << 8;
    }
}

/// One directory entry, borrowed from its block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// 0 for an unused entry.
    pub ino: u32,
    pub rec_len: usize,
    pub file_type: u8,
    pub name: &'a [u8],
}

/// Bytes an entry with a name of `name_len` bytes needs.
pub fn entry_len(name_len: usize) -> usize {
    (8 + name_len + 3) & !3
}

/// Parses the entry at `off` of a directory block; EUCLEAN when it is
/// malformed or does not fit the block.
pub fn parse_entry(block: &[u8], off: usize) -> Result<DirEntry<'_>, Errno> {
    if off + 8 > block.len() {
        return Err(Errno::EUCLEAN);
    }
    let rec_len = usize::from(le16(block, off + 4));
    let name_len = usize::from(block[off + 6]);
    if rec_len < 8
        || !rec_len.is_multiple_of(4)
        || off + rec_len > block.len()
        || 8 + name_len > rec_len
    {
        return Err(Errno::EUCLEAN);
    }
    Ok(DirEntry {
        ino: le32(block, off),
        rec_len,
        file_type: block[off + 7],
        name: &block[off + 8..off + 8 + name_len],
    })
}

/// Writes an entry at `off` (its name must fit in `rec_len`).
pub fn put_entry(block: &mut [u8], off: usize, e: &DirEntry<'_>) {
    put32(block, off, e.ino);
    put16(block, off + 4, e.rec_len as u16);
    block[off + 6] = e.name.len() as u8;
    block[off + 7] = e.file_type;
    block[off + 8..off + 8 + e.name.len()].copy_from_slice(e.name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inode_round_trips_and_keeps_unknown_bytes() {
        let mut raw = [0xa5u8; 256];
        let mut ino = Inode::parse(&raw);
        ino.mode = 0o100644;
        ino.uid = 0x1234_5678;
        ino.size = 5 << 32 | 7;
        ino.block[14] = 99;
        ino.store(&mut raw);
        assert_eq!(Inode::parse(&raw), ino);
        assert_eq!(raw[200], 0xa5, "extra fields untouched");
        assert!(ino.has_blocks(1024));
    }

    #[test]
    fn devices_and_entries() {
        let mut b = [0; 15];
        for dev in [0x103, 0x8801, 0x1_0005] {
            encode_dev(dev, &mut b);
            assert_eq!(decode_dev(&b), dev);
        }
        let mut blk = [0u8; 64];
        let e = DirEntry {
            ino: 12,
            rec_len: 64,
            file_type: 1,
            name: b"hello",
        };
        put_entry(&mut blk, 0, &e);
        assert_eq!(parse_entry(&blk, 0), Ok(e));
        blk[4] = 66; // rec_len past the block
        assert_eq!(parse_entry(&blk, 0), Err(Errno::EUCLEAN));
        assert_eq!(entry_len(5), 16);
    }

    #[test]
    fn features_are_named() {
        let mut sb = Superblock {
            feature_incompat: INCOMPAT_FILETYPE | 0x40,
            ..Superblock::default()
        };
        assert_eq!(sb.unsupported(), Some("extents"));
        sb.feature_incompat = INCOMPAT_FILETYPE;
        sb.feature_ro_compat = RO_COMPAT_LARGE_FILE | 0x400;
        assert_eq!(sb.unsupported(), Some("metadata_csum"));
        sb.feature_ro_compat = RO_COMPAT_SPARSE_SUPER;
        assert_eq!(sb.unsupported(), None);
    }
}
