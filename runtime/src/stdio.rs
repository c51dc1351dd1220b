//! Printing that never panics. std's `println!` and `eprintln!` panic when the write fails (the
//! reader of a pipe went away, the terminal hung up), which would stop an install midway; the
//! binaries shadow those macros with ones that come here ([`stdio_line!`](crate::stdio_line),
//! [`stdio_text!`](crate::stdio_text)), and what cannot be shown is dropped: the log and the
//! report still say it.

use std::fmt::Arguments;
use std::io::Write;

/// Write to stdout; a failure is ignored.
pub fn out(text: Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(text);
}

/// Write to stderr; a failure is ignored.
pub fn err(text: Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(text);
}

/// `println!`/`eprintln!` through [`out`] or [`err`]: `stdio_line!(out; "{x}")`.
#[macro_export]
macro_rules! stdio_line {
    ($stream:ident;) => {
        $crate::stdio::$stream(format_args!("\n"))
    };
    ($stream:ident; $($arg:tt)+) => {
        $crate::stdio::$stream(format_args!("{}\n", format_args!($($arg)+)))
    };
}

/// `print!`/`eprint!` through [`out`] or [`err`]: `stdio_text!(err, "{x}")`.
#[macro_export]
macro_rules! stdio_text {
    ($stream:ident, $($arg:tt)+) => {
        $crate::stdio::$stream(format_args!($($arg)+))
    };
}
