use super::*;
use crate::Tmpfs;

fn info(fstype: &str) -> MountInfo {
    MountInfo {
        source: fstype.as_bytes().to_vec(),
        fstype: fstype.into(),
        read_only: false,
    }
}

/// A root tmpfs with /mnt/sub and /etc/f, and a second tmpfs holding /x.
fn tree() -> (Vfs, Ino) {
    let mut root = Tmpfs::new();
    let r = root.root();
    let mnt = root.create(r, b"mnt", Kind::Dir, 0o755, 0, 0, 0).unwrap();
    root.create(mnt, b"sub", Kind::Dir, 0o755, 0, 0, 0).unwrap();
    let etc = root.create(r, b"etc", Kind::Dir, 0o755, 0, 0, 0).unwrap();
    root.create(etc, b"f", Kind::File, 0o644, 0, 0, 0).unwrap();
    let mut vfs = Vfs::new(Box::new(root), info("tmpfs"));
    let mut other = Tmpfs::new();
    let or = other.root();
    other.create(or, b"x", Kind::File, 0o644, 0, 0, 0).unwrap();
    let point = vfs.resolve(r, b"/mnt", true).unwrap();
    let mroot = vfs.mount(point, Box::new(other), info("tmpfs")).unwrap();
    (vfs, mroot)
}

#[test]
fn paths_cross_mount_points_both_ways() {
    let (vfs, mroot) = tree();
    let r = vfs.root();
    assert_eq!(vfs.resolve(r, b"/mnt", true), Ok(mroot));
    let x = vfs.resolve(r, b"/mnt/x", true).unwrap();
    assert_eq!(split(x).0, 1);
    // The covered directory's own entries are hidden.
    assert_eq!(vfs.resolve(r, b"/mnt/sub", true), Err(Errno::ENOENT));
    assert_eq!(
        vfs.resolve(r, b"/mnt/../etc/f", true),
        vfs.resolve(r, b"/etc/f", true)
    );
    assert_eq!(vfs.resolve(mroot, b"..", true), Ok(r));
    assert_eq!(vfs.resolve(x, b"/mnt/x", true), Ok(x));
    let (dir, name) = vfs.resolve_parent_in(r, r, b"/mnt/new").unwrap();
    assert_eq!((dir, name.as_slice()), (mroot, &b"new"[..]));
    assert_eq!(vfs.path_in(r, x).as_deref(), Ok(&b"/mnt/x"[..]));
    assert_eq!(vfs.path_in(r, mroot).as_deref(), Ok(&b"/mnt"[..]));
    assert_eq!(vfs.stat(x).unwrap().ino, x);
}

#[test]
fn changes_stay_on_their_file_system() {
    let (mut vfs, mroot) = tree();
    let r = vfs.root();
    let f = vfs.create(mroot, b"f", Kind::File, 0o644, 0, 0, 0).unwrap();
    assert_eq!(vfs.write_at(f, 0, b"hello", 0), Ok(5));
    let mut buf = [0u8; 5];
    assert_eq!(vfs.read_at(f, 0, &mut buf), Ok(5));
    assert_eq!(&buf, b"hello");
    let etc = vfs.resolve(r, b"/etc", true).unwrap();
    assert_eq!(vfs.rename(mroot, b"f", etc, b"f2", 0), Err(Errno::EXDEV));
    assert_eq!(vfs.link(etc, b"hard", f, 0), Err(Errno::EXDEV));
    let names: Vec<Vec<u8>> = vfs
        .readdir(mroot)
        .unwrap()
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(names, [&b"."[..], b"..", b"f", b"x"]);
    // `..` of a mounted root is the parent of the directory it covers.
    for (name, ino, _) in vfs.readdir(mroot).unwrap() {
        assert_eq!(split(ino).0, if name == b".." { 0 } else { 1 }, "{name:?}");
    }
    // The directory a file system is mounted on cannot go.
    assert_eq!(vfs.rmdir(r, b"mnt", 0), Err(Errno::EBUSY));
}

#[test]
fn umount_refuses_busy_and_detaches_lazily() {
    let (mut vfs, mroot) = tree();
    let r = vfs.root();
    let x = vfs.resolve(r, b"/mnt/x", true).unwrap();
    assert_eq!(vfs.umount(r, false), Err(Errno::EBUSY));
    assert_eq!(vfs.umount(x, false), Err(Errno::EINVAL));
    vfs.open(x);
    assert_eq!(vfs.umount(mroot, false), Err(Errno::EBUSY));
    assert_eq!(vfs.umount(mroot, true), Ok(()));
    // Out of the tree at once, the open file still works until closed.
    assert!(vfs.resolve(r, b"/mnt/sub", true).is_ok());
    assert!(vfs.stat(x).is_ok());
    vfs.release(x);
    assert_eq!(vfs.stat(x), Err(Errno::ESTALE));
    assert_eq!(vfs.mounts().len(), 1);
}

#[test]
fn read_only_mounts_refuse_changes() {
    let (mut vfs, mroot) = tree();
    vfs.remount(mroot, true).unwrap();
    assert_eq!(
        vfs.create(mroot, b"y", Kind::File, 0o644, 0, 0, 0),
        Err(Errno::EROFS)
    );
    let x = vfs.lookup(mroot, b"x").unwrap();
    assert_eq!(vfs.write_at(x, 0, b"a", 0), Err(Errno::EROFS));
    assert!(vfs.stat(x).is_ok());
    vfs.remount(mroot, false).unwrap();
    assert_eq!(vfs.write_at(x, 0, b"a", 0), Ok(1));
}

#[test]
fn mounts_stack_and_list_in_order() {
    let (mut vfs, mroot) = tree();
    let top = vfs
        .mount(mroot, Box::new(Tmpfs::new()), info("ramfs"))
        .unwrap();
    let r = vfs.root();
    assert_eq!(vfs.resolve(r, b"/mnt", true), Ok(top));
    assert_eq!(vfs.resolve(r, b"/mnt/x", true), Err(Errno::ENOENT));
    let list: Vec<(Vec<u8>, String)> = vfs
        .mounts()
        .into_iter()
        .map(|m| (m.target, m.info.fstype))
        .collect();
    assert_eq!(
        list,
        [
            (b"/".to_vec(), "tmpfs".into()),
            (b"/mnt".to_vec(), "tmpfs".into()),
            (b"/mnt".to_vec(), "ramfs".into())
        ]
    );
    // The lower one has a mount inside it: busy until the top one goes.
    assert_eq!(vfs.umount(mroot, false), Err(Errno::EBUSY));
    vfs.umount(top, false).unwrap();
    assert_eq!(vfs.resolve(r, b"/mnt/x", true).map(|i| split(i).0), Ok(1));
    vfs.umount(mroot, false).unwrap();
    assert!(vfs.resolve(r, b"/mnt/sub", true).is_ok());
}
