//! `Errno`: a newtype over the Linux errno values from `linux-raw-sys`.
use linux_raw_sys::errno as e;

/// A Linux error number (1..=4095).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Errno(u16);

/// The result type of syscall implementations.
pub type SysResult<T> = Result<T, Errno>;

macro_rules! errnos {
    ($($name:ident)*) => {
        #[allow(clippy::upper_case_acronyms)]
        impl Errno {
            $(pub const $name: Errno = Errno(e::$name as u16);)*
        }
        /// Every errno name with its value (aliases included).
        pub const ALL: &[(&str, u16)] = &[$((stringify!($name), e::$name as u16),)*];
    };
}
errnos! { EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY ELOOP EWOULDBLOCK ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR EXFULL ENOANO EBADRQC EBADSLT EDEADLOCK EBFONT ENOSTR ENODATA ETIME ENOSR ENONET ENOPKG EREMOTE ENOLINK EADV ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD EREMCHG ELIBACC ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL EISNAM EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE ERFKILL EHWPOISON }

impl Errno {
    /// An errno from its value (clamped into 1..=4095).
    pub const fn new(v: u16) -> Self {
        Errno(if v == 0 {
            1
        } else if v > 4095 {
            4095
        } else {
            v
        })
    }
    /// The positive value.
    pub const fn value(self) -> u16 {
        self.0
    }
    /// The syscall return value (the negated errno in rax).
    pub const fn to_return(self) -> u64 {
        (-(self.0 as i64)) as u64
    }
    /// The errno encoded in a syscall return value, if it is one.
    pub fn from_return(ret: u64) -> Option<Errno> {
        let v = ret as i64;
        if (-4095..=-1).contains(&v) {
            Some(Errno((-v) as u16))
        } else {
            None
        }
    }
    /// The symbolic name (the first of aliases such as EAGAIN/EWOULDBLOCK).
    pub fn name(self) -> &'static str {
        ALL.iter()
            .find(|(_, v)| *v == self.0)
            .map(|(n, _)| *n)
            .unwrap_or("E?")
    }
    /// A short description, as strerror gives it.
    pub fn description(self) -> &'static str {
        match self.name() {
            "EPERM" => "Operation not permitted",
            "ENOENT" => "No such file or directory",
            "ESRCH" => "No such process",
            "EINTR" => "Interrupted system call",
            "EIO" => "Input/output error",
            "ENXIO" => "No such device or address",
            "E2BIG" => "Argument list too long",
            "ENOEXEC" => "Exec format error",
            "EBADF" => "Bad file descriptor",
            "ECHILD" => "No child processes",
            "EAGAIN" => "Resource temporarily unavailable",
            "ENOMEM" => "Cannot allocate memory",
            "EACCES" => "Permission denied",
            "EFAULT" => "Bad address",
            "EBUSY" => "Device or resource busy",
            "EEXIST" => "File exists",
            "ENODEV" => "No such device",
            "ENOTDIR" => "Not a directory",
            "EISDIR" => "Is a directory",
            "EINVAL" => "Invalid argument",
            "EMFILE" => "Too many open files",
            "ENOTTY" => "Inappropriate ioctl for device",
            "ENOSPC" => "No space left on device",
            "ESPIPE" => "Illegal seek",
            "EROFS" => "Read-only file system",
            "EPIPE" => "Broken pipe",
            "ERANGE" => "Numerical result out of range",
            "ENAMETOOLONG" => "File name too long",
            "ENOSYS" => "Function not implemented",
            "ENOTEMPTY" => "Directory not empty",
            "ELOOP" => "Too many levels of symbolic links",
            "EOPNOTSUPP" => "Operation not supported",
            n => n,
        }
    }
}

impl core::fmt::Debug for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.name())
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_from_the_uapi() {
        assert_eq!(Errno::EPERM.value(), 1);
        assert_eq!(Errno::ENOENT.value(), 2);
        assert_eq!(Errno::EFAULT.value(), 14);
        assert_eq!(Errno::ENOSYS.value(), 38);
        assert_eq!(Errno::ENOEXEC.value(), 8);
    }

    #[test]
    fn return_encoding_round_trips() {
        for &(_, v) in ALL {
            let e = Errno::new(v);
            assert_eq!(Errno::from_return(e.to_return()), Some(e));
        }
        assert_eq!(Errno::ENOSYS.to_return(), (-38i64) as u64);
        assert_eq!(Errno::from_return(0), None);
        assert_eq!(Errno::from_return(5), None);
        assert_eq!(Errno::from_return((-4096i64) as u64), None);
    }

    #[test]
    fn names_and_messages() {
        assert_eq!(Errno::EFAULT.name(), "EFAULT");
        assert_eq!(
            alloc::format!("{}", Errno::ENOENT),
            "ENOENT (No such file or directory)"
        );
    }
}
