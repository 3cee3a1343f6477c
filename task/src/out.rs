//! `println!` for seL4 tasks: text goes to a sink the task sets at start
//! (the serial port in the root task; the root task's console service in an
//! instance). Before a sink is set, text is dropped.
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The sink, a `fn(&[u8])` as a word (0: none yet).
static SINK: AtomicUsize = AtomicUsize::new(0);

/// Sends all later `println!` text to `sink`.
pub fn set_sink(sink: fn(&[u8])) {
    SINK.store(sink as usize, Ordering::Release);
}

/// Writes `bytes` to the sink.
pub fn write(bytes: &[u8]) {
    let f = SINK.load(Ordering::Acquire);
    if f != 0 {
        // SAFETY: only `set_sink` stores nonzero values, each a `fn(&[u8])`.
        let sink: fn(&[u8]) = unsafe { core::mem::transmute::<usize, fn(&[u8])>(f) };
        sink(bytes);
    }
}

/// The `fmt::Write` behind `println!`.
pub struct Out;

impl fmt::Write for Out {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write(s.as_bytes());
        Ok(())
    }
}

/// Formats a line to the task's sink.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::out::Out, $($arg)*);
    }};
}
