//! Checks every constant of `selkie_sel4::consts` and the `seL4_BootInfo` layout
//! against the kernel's own headers: a C program including the generated
//! invocation headers and libsel4's headers prints each value, which must match.
//!
//! Needs the patched kernel tree from `scripts/kernel.sh` (build/kernel);
//! `make test` builds it before running the host tests.
use selkie_sel4::consts;
use std::path::PathBuf;
use std::process::Command;

fn kernel_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build/kernel");
    assert!(
        dir.join("obj/api/invocation.h").exists(),
        "kernel tree missing at {}: run scripts/kernel.sh (or make kernel) first",
        dir.display()
    );
    dir
}

fn c_values(tag: &str, names: &[&str], extra: &str) -> Vec<(String, u64)> {
    let k = kernel_dir();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let src = tmp.join(format!("sel4_headers_{tag}.c"));
    let exe = tmp.join(format!("sel4_headers_{tag}"));
    let mut c = String::from(
        r#"#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
typedef uint64_t seL4_Word; typedef seL4_Word seL4_CPtr; typedef uint8_t seL4_Uint8;
typedef seL4_Word seL4_NodeId; typedef seL4_Word seL4_Domain;
typedef struct seL4_IPCBuffer_ seL4_IPCBuffer;
#define SEL4_PACKED __attribute__((packed))
#define SEL4_FORCE_LONG_ENUM(x) _enum_pad_##x = 0x7fffffffffffffff
#define LIBSEL4_BIT(n) (1ul<<(n))
#include <autoconf.h>
#include <api/invocation.h>
#include <arch/api/sel4_invocation.h>
#include <arch/api/invocation.h>
#include <sel4/bootinfo_types.h>
#include <sel4/errors.h>
#include <sel4/constants.h>
#include <sel4/objecttype.h>
#include <sel4/sel4_arch/objecttype.h>
#include <sel4/arch/objecttype.h>
#include <sel4/sel4_arch/constants.h>
#include <sel4/arch/constants.h>
int main(void) {
"#,
    );
    for n in names {
        c.push_str(&format!(
            "    printf(\"%s %llu\\n\", \"{n}\", (unsigned long long)({n}));\n"
        ));
    }
    c.push_str(extra);
    c.push_str("    return 0;\n}\n");
    std::fs::write(&src, c).unwrap();
    let inc = |p: &str| format!("-I{}", k.join(p).display());
    let out = Command::new("cc")
        .args(["-DHAVE_AUTOCONF", "-o"])
        .arg(&exe)
        .arg(&src)
        .args([
            inc("src/include/plat/pc99"),
            inc("obj"),
            inc("src/libsel4/include"),
            inc("src/libsel4/sel4_arch_include/x86_64"),
            inc("src/libsel4/arch_include/x86"),
            inc("src/libsel4/mode_include/64"),
            inc("src/libsel4/sel4_plat_include/pc99"),
        ])
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "compiling the header probe failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run probe");
    String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (n, v) = l.rsplit_once(' ').unwrap();
            (n.to_string(), v.parse().unwrap())
        })
        .collect()
}

fn check(tag: &str, table: &[(&str, u64)]) {
    let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
    let values = c_values(tag, &names, "");
    assert_eq!(values.len(), table.len());
    for ((name, rust), (_, c)) in table.iter().zip(values) {
        assert_eq!(*rust, c, "{name}: Rust has {rust}, the kernel headers {c}");
    }
}

#[test]
fn invocation_labels_match_kernel() {
    check("labels", consts::LABELS);
}

#[test]
fn object_types_match_kernel() {
    check("objects", consts::OBJECT_TYPES);
}

#[test]
fn initial_caps_and_errors_match_kernel() {
    check("caps", consts::INITIAL_CAPS);
    check("errors", consts::ERRORS);
}

#[test]
fn sizes_match_kernel() {
    // seL4_LargePageBits and seL4_HugePageBits are arch constants too.
    check("sizes", consts::SIZES);
}

#[test]
fn bootinfo_layout_matches_kernel() {
    let extra = r#"
    printf("untyped %zu\n", offsetof(seL4_BootInfo, untyped));
    printf("untypedList %zu\n", offsetof(seL4_BootInfo, untypedList));
    printf("initThreadCNodeSizeBits %zu\n", offsetof(seL4_BootInfo, initThreadCNodeSizeBits));
    printf("ipcBuffer %zu\n", offsetof(seL4_BootInfo, ipcBuffer));
    printf("size %zu\n", sizeof(seL4_BootInfo));
    printf("maxuntyped %d\n", CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS);
"#;
    let v = c_values("bootinfo", &[], extra);
    use selkie_sel4::bootinfo::{BootInfo, MAX_UNTYPED};
    use std::mem::{offset_of, size_of};
    let get = |n: &str| v.iter().find(|(k, _)| k == n).unwrap().1 as usize;
    assert_eq!(get("untyped"), offset_of!(BootInfo, untyped));
    assert_eq!(get("untypedList"), offset_of!(BootInfo, untyped_list));
    assert_eq!(
        get("initThreadCNodeSizeBits"),
        offset_of!(BootInfo, init_thread_cnode_size_bits)
    );
    assert_eq!(get("ipcBuffer"), offset_of!(BootInfo, ipc_buffer));
    assert_eq!(get("size"), size_of::<BootInfo>());
    assert_eq!(get("maxuntyped"), MAX_UNTYPED);
}

#[test]
fn syscall_numbers_match_interface_xml() {
    // The kernel numbers system calls -1, -2, ... in the order syscall.xml lists them.
    let xml = std::fs::read_to_string(kernel_dir().join("src/include/api/syscall.xml")).unwrap();
    let names: Vec<&str> = xml
        .split("<syscall name=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    for (name, value) in consts::SYSCALLS {
        let short = name.trim_start_matches("seL4_Sys");
        let pos = names.iter().position(|n| *n == short).unwrap() as i64;
        assert_eq!(*value, (-(pos + 1)) as u64, "{name}");
    }
}

#[test]
fn fault_labels_match_interface() {
    let bf = std::fs::read_to_string(
        kernel_dir().join("src/libsel4/arch_include/x86/sel4/arch/shared_types.bf"),
    )
    .unwrap();
    for (name, tag) in [
        ("NullFault", consts::seL4_Fault_NullFault),
        ("CapFault", consts::seL4_Fault_CapFault),
        ("UnknownSyscall", consts::seL4_Fault_UnknownSyscall),
        ("UserException", consts::seL4_Fault_UserException),
        ("VMFault", consts::seL4_Fault_VMFault),
    ] {
        assert!(bf.contains(&format!("tag {name} {tag}")), "{name} {tag}");
    }
}
