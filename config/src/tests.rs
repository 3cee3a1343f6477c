use super::*;
use crate::partition::chunks_of;
use std::string::ToString;

const TWO: &str = r#"
[[instance]]
name = "alpha"
memory = "96M"
init = "/bin/sh /etc/alpha.sh"
console = true
network = true

[[instance]]
name = "beta"
memory = "64M"
init = "/bin/sh -c 'echo hello'"
restart = "on-failure"
"#;

#[test]
fn a_two_instance_configuration_parses() {
    let c = Config::parse(TWO).unwrap();
    assert_eq!(c.instances.len(), 2);
    let a = &c.instances[0];
    assert_eq!(
        (
            a.name.as_str(),
            a.memory,
            a.console,
            a.network,
            a.disk,
            a.restart
        ),
        ("alpha", 96 << 20, true, true, false, Restart::Never)
    );
    assert_eq!(a.init.as_deref(), Some("/bin/sh /etc/alpha.sh"));
    let b = &c.instances[1];
    assert_eq!(
        (b.memory, b.console, b.restart),
        (64 << 20, false, Restart::OnFailure)
    );
    assert_eq!(c.name_width(), 5);
}

#[test]
fn sizes() {
    assert_eq!(parse_size("64M"), Some(64 << 20));
    assert_eq!(parse_size("1G"), Some(1 << 30));
    assert_eq!(parse_size("512k"), Some(512 << 10));
    assert_eq!(parse_size("4096"), Some(4096));
    for bad in ["", "M", "-1M", "1T", "1.5G", "99999999999999999999G"] {
        assert_eq!(parse_size(bad), None, "{bad:?}");
    }
}

fn invalid(text: &str) -> String {
    match Config::parse(text) {
        Err(ConfigError::Invalid(m)) => m,
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn bad_configurations_are_refused_with_a_reason() {
    let one = |fields: &str| format!("[[instance]]\n{fields}\n");
    assert!(invalid("").contains("at least one"));
    assert!(invalid(&one("name = \"A\"\nmemory = \"64M\"\ninit = \"x\"")).contains("a-z"));
    assert!(invalid(&one("name = \"a\"\nmemory = \"lots\"\ninit = \"x\"")).contains("not a size"));
    assert!(
        invalid(&one("name = \"a\"\nmemory = \"8M\"\ninit = \"x\"")).contains("at least 48 MiB")
    );
    assert!(invalid(&one(
        "name = \"a\"\nmemory = \"64M\"\ninit = \"x\"\nrestart = \"always\""
    ))
    .contains("on-failure"));
    assert!(invalid(&one("name = \"a\"\nmemory = \"64M\"\ninit = \" \"")).contains("empty init"));
    assert!(invalid(&one("name = \"a\"\nmemory = \"64M\"")).contains("needs the console"));
    let twice = format!(
        "{}{}",
        one("name = \"a\"\nmemory = \"64M\"\ninit = \"x\"\nconsole = true"),
        one("name = \"a\"\nmemory = \"64M\"\ninit = \"x\"")
    );
    assert!(invalid(&twice).contains("two instances are named"));
    let consoles = format!(
        "{}{}",
        one("name = \"a\"\nmemory = \"64M\"\ninit = \"x\"\nconsole = true"),
        one("name = \"b\"\nmemory = \"64M\"\ninit = \"x\"\nconsole = true")
    );
    assert!(invalid(&consoles).contains("console: one at most"));
    let many: String = (0..9)
        .map(|i| one(&format!("name = \"i{i}\"\nmemory = \"64M\"\ninit = \"x\"")))
        .collect();
    assert!(invalid(&many).contains("at most 8"));
    // Not TOML, an unknown field, a wrong type: the parser says so.
    for text in [
        "[[instance]\n",
        &one("name = \"a\"\nmemory = \"64M\"\ninit = \"x\"\nram = 1"),
        &one("name = 7\nmemory = \"64M\""),
    ] {
        assert!(
            matches!(Config::parse(text), Err(ConfigError::Syntax(_))),
            "{text}"
        );
    }
}

#[test]
fn the_single_instance_default() {
    let c = Config::single(400 << 20, Some("/bin/true".into()));
    assert_eq!(c.instances.len(), 1);
    assert!(c.instances[0].console && c.instances[0].network && c.instances[0].disk);
    assert_eq!(
        ConfigError::Invalid("x".into()).to_string(),
        "x",
        "errors print as their message"
    );
}

#[test]
fn quotas_become_power_of_two_chunks() {
    assert_eq!(chunks_of(96 << 20), [26, 25]);
    assert_eq!(chunks_of(64 << 20), [26]);
    assert_eq!(chunks_of((64 << 20) + 1), [26, 20]);
    assert_eq!(chunks_of(100 << 20), [26, 25, 22]);
}

/// Untyped regions as QEMU's 512 MiB machine gives them to the root task:
/// many small ones and a few big ones (sizes in bits).
fn machine() -> std::vec::Vec<Untyped> {
    let mut v: std::vec::Vec<Untyped> = [
        12, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28,
    ]
    .iter()
    .map(|&b| Untyped {
        size_bits: b,
        used: 0,
    })
    .collect();
    v.push(Untyped {
        size_bits: 26,
        used: 12345,
    });
    v
}

fn check(regions: &[Untyped], order: &[Chunk], pools: &[Pool], quotas: &[u64]) {
    // Every pool covers its quota; no two chunks overlap; each lies within
    // its region, past its region's watermark, aligned to its size.
    for (p, &q) in pools.iter().zip(quotas) {
        assert!(
            p.bytes() >= q && p.bytes() < q + (1 << 20) + 1,
            "{p:?} for {q}"
        );
    }
    for c in order {
        let size = 1u64 << c.size_bits;
        assert_eq!(c.offset % size, 0, "{c:?} unaligned");
        assert!(c.offset >= regions[c.parent].used);
        assert!(
            c.offset + size <= 1u64 << regions[c.parent].size_bits,
            "{c:?} past its region"
        );
        for d in order {
            if d != c && d.parent == c.parent {
                let (a0, a1) = (c.offset, c.offset + size);
                let (b0, b1) = (d.offset, d.offset + (1u64 << d.size_bits));
                assert!(a1 <= b0 || b1 <= a0, "{c:?} overlaps {d:?}");
            }
        }
    }
}

#[test]
fn two_instances_fit_a_512_mib_machine_with_room_for_the_root() {
    let regions = machine();
    let quotas = [96 << 20, 64 << 20];
    let (order, pools) = plan(&regions, &quotas, 64 << 20).unwrap();
    check(&regions, &order, &pools, &quotas);
    // Biggest chunks first.
    assert!(order.windows(2).all(|w| w[0].size_bits >= w[1].size_bits));
    // The 64 MiB chunks go where they leave least: not into the 256 MiB region
    // while a 128 MiB one can take them.
    assert_eq!(regions[order[0].parent].size_bits, 27);
}

#[test]
fn too_much_is_refused() {
    let regions = machine();
    // More than the machine has.
    assert!(matches!(
        plan(&regions, &[1 << 30], 0),
        Err(PlanError::NoRoom {
            instance: 0,
            chunk_bits: 30
        })
    ));
    // Fits, but leaves the root too little.
    let total: u64 = regions.iter().map(|r| 1u64 << r.size_bits).sum();
    match plan(&regions, &[256 << 20, 128 << 20], 128 << 20) {
        Err(PlanError::Reserve { left, needed }) => {
            assert_eq!(needed, 128 << 20);
            assert!(left < needed && left < total);
        }
        other => panic!("{other:?}"),
    }
    assert!(PlanError::Reserve {
        left: 1 << 20,
        needed: 2 << 20
    }
    .to_string()
    .contains("needs 2 MiB"));
}

#[test]
fn random_quotas_never_overlap() {
    let mut seed = 0x1234_5678_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..500 {
        let regions: std::vec::Vec<Untyped> = (0..(next() % 12 + 1))
            .map(|_| {
                let bits = (next() % 12 + 18) as u8;
                Untyped {
                    size_bits: bits,
                    used: next() % (1 << bits),
                }
            })
            .collect();
        let quotas: std::vec::Vec<u64> = (0..(next() % 4 + 1))
            .map(|_| (next() % 200 + 1) << 20)
            .collect();
        if let Ok((order, pools)) = plan(&regions, &quotas, next() % (64 << 20)) {
            check(&regions, &order, &pools, &quotas);
        }
    }
}

const LINKED: &str = r#"
[[instance]]
name = "alpha"
memory = "64M"
init = "/bin/true"

[[instance]]
name = "beta"
memory = "64M"
init = "/bin/true"

[[instance]]
name = "gamma"
memory = "64M"
init = "/bin/true"

[[channel]]
name = "ab"
between = ["alpha", "beta"]

[[channel]]
name = "gb"
between = ["gamma", "beta"]
"#;

#[test]
fn channels_name_two_instances() {
    let c = Config::parse(LINKED).unwrap();
    assert_eq!(c.channels.len(), 2);
    assert_eq!(c.channels[0].name, "ab");
    assert_eq!(c.channels[0].ends, [0, 1]);
    assert_eq!(c.channels[1].ends, [2, 1]);
    assert_eq!(c.channels_of(0), std::vec![(0, 1)]);
    assert_eq!(c.channels_of(1), std::vec![(0, 0), (1, 2)]);
    assert_eq!(c.channels_of(2), std::vec![(1, 1)]);
    assert!(Config::parse(TWO).unwrap().channels.is_empty());
}

#[test]
fn bad_channels_are_refused() {
    let base = LINKED.split("[[channel]]").next().unwrap();
    for (chan, msg) in [
        (
            "name = \"x\"\nbetween = [\"alpha\", \"alpha\"]",
            "between \"alpha\" and itself",
        ),
        (
            "name = \"x\"\nbetween = [\"alpha\", \"delta\"]",
            "no instance \"delta\"",
        ),
        (
            "name = \"x\"\nbetween = [\"alpha\"]",
            "between two instances, not 1",
        ),
        (
            "name = \"X!\"\nbetween = [\"alpha\", \"beta\"]",
            "channel name \"X!\"",
        ),
    ] {
        let text = std::format!("{base}[[channel]]\n{chan}\n");
        let m = invalid(&text);
        assert!(m.contains(msg), "{m}");
    }
    let twice = std::format!(
        "{base}[[channel]]\nname = \"x\"\nbetween = [\"alpha\", \"beta\"]\n[[channel]]\nname = \"x\"\nbetween = [\"gamma\", \"beta\"]\n"
    );
    assert!(invalid(&twice).contains("two channels are named \"x\""));
    let mut many = std::string::String::from(base);
    for k in 0..=MAX_CHANNELS {
        many += &std::format!("[[channel]]\nname = \"c{k}\"\nbetween = [\"alpha\", \"beta\"]\n");
    }
    assert!(invalid(&many).contains("more than 8 channels"));
}

#[test]
fn shares_name_their_members() {
    let text = std::format!(
        "{}[[share]]\nname = \"common\"\nsize = \"8M\"\nbetween = [\"beta\", \"alpha\"]\n",
        LINKED.split("[[channel]]").next().unwrap()
    );
    let c = Config::parse(&text).unwrap();
    assert_eq!(
        c.shares,
        std::vec![Share {
            name: "common".into(),
            size: 8 << 20,
            members: std::vec![1, 0],
        }]
    );
    assert!(Config::parse(TWO).unwrap().shares.is_empty());
}

#[test]
fn bad_shares_are_refused() {
    let base = LINKED.split("[[channel]]").next().unwrap();
    for (share, msg) in [
        (
            "name = \"s\"\nsize = \"8M\"\nbetween = [\"delta\"]",
            "no instance \"delta\"",
        ),
        (
            "name = \"s\"\nsize = \"8M\"\nbetween = [\"alpha\", \"alpha\"]",
            "\"alpha\" named twice",
        ),
        (
            "name = \"s\"\nsize = \"8M\"\nbetween = []",
            "between no instance",
        ),
        (
            "name = \"s\"\nsize = \"512K\"\nbetween = [\"alpha\"]",
            "from 1M to 256M",
        ),
        (
            "name = \"s\"\nsize = \"1G\"\nbetween = [\"alpha\"]",
            "from 1M to 256M",
        ),
        (
            "name = \"S\"\nsize = \"8M\"\nbetween = [\"alpha\"]",
            "share name \"S\"",
        ),
    ] {
        let m = invalid(&std::format!("{base}[[share]]\n{share}\n"));
        assert!(m.contains(msg), "{m}");
    }
    let mut many = std::string::String::from(base);
    for k in 0..=MAX_SHARES {
        many += &std::format!("[[share]]\nname = \"s{k}\"\nsize = \"1M\"\nbetween = [\"alpha\"]\n");
    }
    assert!(invalid(&many).contains("at most 4"));
    assert!(matches!(
        Config::parse(&std::format!(
            "{base}[[share]]\nname = \"s\"\nsize = \"1M\"\n"
        )),
        Err(ConfigError::Syntax(_))
    ));
}

#[test]
fn an_instance_may_have_files_of_its_own() {
    let one = |extra: &str| {
        std::format!("[[instance]]\nname = \"a\"\nmemory = \"64M\"\ninit = \"/bin/true\"\n{extra}")
    };
    let c = Config::parse(&one("tree = \"a-files\"\n")).unwrap();
    assert_eq!(c.instances[0].tree.as_deref(), Some("a-files"));
    assert_eq!(Config::parse(&one("")).unwrap().instances[0].tree, None);
    assert!(invalid(&one("tree = \" \"\n")).contains("an empty tree"));
}
