use super::*;
use alloc::format;

fn fs_with_tree() -> (Tmpfs, Ino, Ino) {
    let mut fs = Tmpfs::new();
    let r = fs.root();
    let bin = fs.create(r, b"bin", Kind::Dir, 0o755, 0, 0, 1).unwrap();
    let bb = fs
        .create(bin, b"busybox", Kind::File, 0o755, 0, 0, 1)
        .unwrap();
    fs.write_at(bb, 0, b"ELF", 1).unwrap();
    fs.symlink(bin, b"sh", b"busybox", 1).unwrap();
    fs.symlink(r, b"abs", b"/bin/sh", 1).unwrap();
    (fs, bin, bb)
}

#[test]
fn resolves_paths_dots_and_symlinks() {
    let (fs, bin, bb) = fs_with_tree();
    let r = fs.root();
    assert_eq!(fs.resolve(r, b"/bin/busybox", true), Ok(bb));
    assert_eq!(fs.resolve(bin, b"busybox", true), Ok(bb));
    assert_eq!(fs.resolve(bin, b"../bin/./busybox", true), Ok(bb));
    assert_eq!(fs.resolve(r, b"/../../bin", true), Ok(bin));
    assert_eq!(fs.resolve(r, b"/bin/sh", true), Ok(bb));
    assert_eq!(fs.resolve(r, b"/abs", true), Ok(bb));
    let link = fs.resolve(r, b"/abs", false).unwrap();
    assert_eq!(fs.stat(link).unwrap().kind, Kind::Symlink);
    assert_eq!(fs.resolve(r, b"/bin/busybox/", true), Err(Errno::ENOTDIR));
    assert_eq!(fs.resolve(r, b"/bin/busybox/x", true), Err(Errno::ENOTDIR));
    assert_eq!(fs.resolve(r, b"/nope", true), Err(Errno::ENOENT));
    assert_eq!(fs.resolve(r, b"", true), Err(Errno::ENOENT));
    let long = format!("/{}", "a".repeat(300));
    assert_eq!(
        fs.resolve(r, long.as_bytes(), true),
        Err(Errno::ENAMETOOLONG)
    );
    let huge = "/a".repeat(3000);
    assert_eq!(
        fs.resolve(r, huge.as_bytes(), true),
        Err(Errno::ENAMETOOLONG)
    );
}

#[test]
fn symlink_loops_are_eloop() {
    let mut fs = Tmpfs::new();
    let r = fs.root();
    fs.symlink(r, b"a", b"b", 0).unwrap();
    fs.symlink(r, b"b", b"a", 0).unwrap();
    assert_eq!(fs.resolve(r, b"/a", true), Err(Errno::ELOOP));
    assert!(fs.resolve(r, b"/a", false).is_ok());
}

#[test]
fn create_unlink_and_open_files_outlive_their_name() {
    let (mut fs, bin, _) = fs_with_tree();
    assert_eq!(
        fs.create(bin, b"busybox", Kind::File, 0o644, 0, 0, 2),
        Err(Errno::EEXIST)
    );
    let f = fs.create(bin, b"f", Kind::File, 0o644, 0, 0, 2).unwrap();
    fs.write_at(f, 5, b"xy", 3).unwrap();
    let mut b = [9u8; 8];
    assert_eq!(fs.read_at(f, 0, &mut b), Ok(7));
    assert_eq!(&b[..7], b"\0\0\0\0\0xy");
    fs.open(f);
    fs.unlink(bin, b"f", 4).unwrap();
    assert_eq!(fs.lookup(bin, b"f"), Err(Errno::ENOENT));
    assert_eq!(fs.read_at(f, 5, &mut b), Ok(2), "still readable while open");
    let n = fs.inode_count();
    fs.release(f);
    assert_eq!(fs.inode_count(), n - 1, "freed at the last close");
    assert_eq!(fs.unlink(fs.root(), b"bin", 5), Err(Errno::EISDIR));
}

#[test]
fn directories_rmdir_and_rename() {
    let (mut fs, bin, bb) = fs_with_tree();
    let r = fs.root();
    let d = fs.create(r, b"d", Kind::Dir, 0o755, 0, 0, 1).unwrap();
    let e = fs.create(d, b"e", Kind::Dir, 0o755, 0, 0, 1).unwrap();
    assert_eq!(fs.stat(d).unwrap().nlink, 3);
    assert_eq!(fs.rmdir(r, b"d", 2), Err(Errno::ENOTEMPTY));
    assert_eq!(
        fs.rename(r, b"d", e, b"x", 2),
        Err(Errno::EINVAL),
        "into itself"
    );
    fs.rename(bin, b"busybox", d, b"bb", 2).unwrap();
    assert_eq!(fs.resolve(r, b"/d/bb", true), Ok(bb));
    assert_eq!(fs.path_of(e), Ok("/d/e".into()));
    fs.rename(d, b"e", r, b"e2", 3).unwrap();
    assert_eq!(fs.path_of(e), Ok("/e2".into()));
    assert_eq!(fs.lookup(e, b".."), Ok(r));
    fs.rmdir(r, b"e2", 4).unwrap();
    assert_eq!(fs.path_of(e), Err(Errno::ENOENT));
    let names: Vec<Vec<u8>> = fs.readdir(d).unwrap().into_iter().map(|x| x.0).collect();
    assert_eq!(names, [&b"."[..], b"..", b"bb"]);
    assert_eq!(fs.rmdir(r, b".", 5), Err(Errno::EINVAL));
}

#[test]
fn truncate_and_hard_links() {
    let (mut fs, bin, bb) = fs_with_tree();
    fs.link(fs.root(), b"hard", bb, 2).unwrap();
    assert_eq!(fs.stat(bb).unwrap().nlink, 2);
    fs.unlink(bin, b"busybox", 3).unwrap();
    assert_eq!(fs.stat(bb).unwrap().nlink, 1);
    fs.truncate(bb, 1, 4).unwrap();
    assert_eq!(fs.stat(bb).unwrap().size, 1);
    assert_eq!(fs.link(fs.root(), b"bin2", bin, 5), Err(Errno::EPERM));
}

#[test]
fn capacity_gives_enospc_and_frees_on_unlink() {
    let mut fs = Tmpfs::with_capacity(10_000);
    let r = fs.root();
    let f = fs.create(r, b"f", Kind::File, 0o644, 0, 0, 0).unwrap();
    assert_eq!(fs.write_at(f, 0, &[1; 8000], 0), Ok(8000));
    assert_eq!(fs.write_at(f, 9000, &[1; 2000], 0), Err(Errno::ENOSPC));
    assert_eq!(fs.write_at(f, 1 << 39, b"x", 0), Err(Errno::ENOSPC));
    assert_eq!(fs.truncate(f, 1 << 41, 0), Err(Errno::EFBIG));
    assert_eq!(fs.usage().0, 8000);
    fs.unlink(r, b"f", 0).unwrap();
    assert_eq!(fs.usage().0, 0);
    let g = fs.create(r, b"g", Kind::File, 0o644, 0, 0, 0).unwrap();
    assert_eq!(fs.write_at(g, 0, &[1; 9000], 0), Ok(9000));
}

#[test]
fn extended_attributes() {
    let mut fs = Tmpfs::with_capacity(1000);
    let r = fs.root();
    let f = fs.create(r, b"f", Kind::File, 0o644, 0, 0, 0).unwrap();
    let l = fs.symlink(r, b"l", b"f", 0).unwrap();
    assert_eq!(fs.get_xattr(f, b"user.a"), Err(Errno::ENODATA));
    fs.set_xattr(f, b"user.a", b"one", XattrSet::Any, 1)
        .unwrap();
    assert_eq!(fs.get_xattr(f, b"user.a"), Ok(&b"one"[..]));
    assert_eq!(fs.stat(f).unwrap().ctime_ns, 1);
    assert_eq!(
        fs.set_xattr(f, b"user.a", b"x", XattrSet::Create, 2),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        fs.set_xattr(f, b"user.b", b"x", XattrSet::Replace, 2),
        Err(Errno::ENODATA)
    );
    fs.set_xattr(f, b"trusted.b", b"", XattrSet::Create, 2)
        .unwrap();
    assert_eq!(fs.list_xattr(f).unwrap(), b"trusted.b\0user.a\0");
    assert_eq!(
        fs.set_xattr(f, b"os2.x", b"", XattrSet::Any, 2),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        fs.set_xattr(f, b"user.", b"", XattrSet::Any, 2),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        fs.set_xattr(l, b"user.a", b"", XattrSet::Any, 2),
        Err(Errno::EPERM)
    );
    fs.set_xattr(l, b"trusted.a", b"ok", XattrSet::Any, 2)
        .unwrap();
    // Names and values count against the capacity, and come back.
    // (the symlink's one-byte target counts too)
    assert_eq!(fs.usage().0, 1 + (6 + 3) + 9 + (9 + 2));
    assert_eq!(
        fs.set_xattr(f, b"user.big", &[0; 2000], XattrSet::Any, 3),
        Err(Errno::ENOSPC)
    );
    assert_eq!(
        fs.set_xattr(f, b"user.big", &[0; XATTR_SIZE_MAX + 1], XattrSet::Any, 3),
        Err(Errno::E2BIG)
    );
    fs.remove_xattr(f, b"user.a", 4).unwrap();
    assert_eq!(fs.remove_xattr(f, b"user.a", 4), Err(Errno::ENODATA));
    fs.unlink(r, b"f", 5).unwrap();
    fs.unlink(r, b"l", 5).unwrap();
    assert_eq!(fs.usage().0, 0);
}

#[test]
fn names_are_bytes() {
    let mut fs = Tmpfs::new();
    let r = fs.root();
    let d = fs.create(r, b"d\xfe", Kind::Dir, 0o755, 0, 0, 1).unwrap();
    let f = fs
        .create(d, b"\x81\xc3\x28", Kind::File, 0o644, 0, 0, 1)
        .unwrap();
    assert_eq!(fs.resolve(r, b"/d\xfe/\x81\xc3\x28", true), Ok(f));
    assert_eq!(fs.path_of(f).as_deref(), Ok(&b"/d\xfe/\x81\xc3\x28"[..]));
    let names: Vec<Vec<u8>> = fs.readdir(d).unwrap().into_iter().map(|x| x.0).collect();
    assert_eq!(names, [&b"."[..], b"..", b"\x81\xc3\x28"]);
    fs.symlink(r, b"l\xff", b"d\xfe/\x81\xc3\x28", 1).unwrap();
    assert_eq!(fs.resolve(r, b"/l\xff", true), Ok(f));
    // Only '/' and NUL are not name bytes.
    assert_eq!(
        fs.create(r, b"a\0b", Kind::File, 0o644, 0, 0, 1),
        Err(Errno::EINVAL)
    );
    fs.rename(d, b"\x81\xc3\x28", r, b"\x80", 2).unwrap();
    assert_eq!(fs.lookup(r, b"\x80"), Ok(f));
    fs.unlink(r, b"\x80", 3).unwrap();
    assert_eq!(fs.resolve(r, b"/l\xff", true), Err(Errno::ENOENT));
}

#[test]
fn unpack_lays_an_archive_over_a_tree() {
    use crate::cpio::Entry;
    let mut fs = Tmpfs::new();
    let base = [
        Entry {
            name: b"etc",
            mode: 0o040755,
            mtime: 1,
            data: b"",
        },
        Entry {
            name: b"etc/hostname",
            mode: 0o100644,
            mtime: 1,
            data: b"selkie\n",
        },
        Entry {
            name: b"etc/motd",
            mode: 0o100644,
            mtime: 1,
            data: b"hello\n",
        },
    ];
    crate::unpack(&mut fs, &base);
    let over = [
        Entry {
            name: b"etc/hostname",
            mode: 0o100600,
            mtime: 2,
            data: b"alpha\n",
        },
        Entry {
            name: b"opt/alpha/run",
            mode: 0o100755,
            mtime: 2,
            data: b"#!/bin/sh\n",
        },
    ];
    crate::unpack(&mut fs, &over);
    let root = fs.root();
    let read = |fs: &Tmpfs, path: &[u8]| {
        let ino = fs.resolve(root, path, true).unwrap();
        let mut buf = [0u8; 64];
        let n = fs.read_at(ino, 0, &mut buf).unwrap();
        (buf[..n].to_vec(), fs.stat(ino).unwrap().perm)
    };
    assert_eq!(read(&fs, b"/etc/hostname"), (b"alpha\n".to_vec(), 0o600));
    assert_eq!(read(&fs, b"/etc/motd"), (b"hello\n".to_vec(), 0o644));
    assert_eq!(
        read(&fs, b"/opt/alpha/run"),
        (b"#!/bin/sh\n".to_vec(), 0o755)
    );
}
