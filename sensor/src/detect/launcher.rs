//! `sensor.launcher.entity_id`: the process that launched this one, looking through the
//! plumbing between them.
//!
//! Correlations grouped by `process.parent.entity_id` break as soon as a program runs its
//! commands through `sh -c` (Perl backticks, Python `shell=True`, `system(3)`): every command
//! then has a parent of its own. They also break when a program forks a copy of itself to do
//! the work (tar writes a `-z` archive from a forked child that then execs gzip). The launcher
//! is the nearest ancestor, starting with the parent, that is neither a shell run with `-c`
//! (a command wrapper) nor, for a process that has not exec'd since its fork, its parent when
//! that runs the same executable (the process is a forked copy of it; only the parent: a bash
//! script above a forked bash helper is a launcher). A process that exec'd
//! is a program of its own even when it is the same one (`bash script.sh` run by a bash
//! script is launched by that script). A process
//! whose parent is an ordinary program or script has that parent as its launcher, so grouping
//! by launcher is grouping by parent wherever no wrapper sits in between.

/// Shell basenames whose `-c` invocations are command wrappers.
const SHELLS: &[&[u8]] = &[
    b"sh", b"bash", b"dash", b"zsh", b"ksh", b"mksh", b"ash", b"busybox",
];

/// One ancestor as the walk sees it.
pub struct Hop<'a, A> {
    /// The ancestor's executable path (raw bytes or escaped text: only compared).
    pub executable: &'a [u8],
    /// Its arguments, `argv[0]` first.
    pub args: A,
    /// Its `process.entity_id`.
    pub entity_id: &'a str,
}

/// The entity id of the launcher of a process, given its ancestors nearest first (the parent
/// first). `forked_image` is the process's executable when it has not exec'd since its fork
/// (`None` once it has). When every known ancestor is plumbing, the farthest one known is the
/// launcher; `None` only when no ancestor is known.
pub fn launcher<'a, A, B>(
    forked_image: Option<&[u8]>,
    chain: impl IntoIterator<Item = Hop<'a, A>>,
) -> Option<&'a str>
where
    A: IntoIterator<Item = B>,
    B: AsRef<[u8]>,
{
    let mut last = None;
    for (i, hop) in chain.into_iter().enumerate() {
        last = Some(hop.entity_id);
        let same_program =
            i == 0 && forked_image.is_some_and(|own| !own.is_empty() && hop.executable == own);
        if !same_program && !is_command_wrapper(hop.executable, hop.args) {
            return Some(hop.entity_id);
        }
    }
    last
}

/// A shell started as `sh -c CMD` (options may come before `-c`: `bash -lc`, `sh -e -c`).
pub fn is_command_wrapper<A, B>(executable: &[u8], args: A) -> bool
where
    A: IntoIterator<Item = B>,
    B: AsRef<[u8]>,
{
    let name = executable
        .rsplit(|&b| b == b'/')
        .next()
        .unwrap_or(executable);
    if !SHELLS.contains(&name) {
        return false;
    }
    let mut args = args.into_iter().skip(1);
    while let Some(arg) = args.next() {
        let arg = arg.as_ref();
        match arg {
            // `-o OPTION` / `+o OPTION` take the next word.
            b"-o" | b"+o" => {
                args.next();
            }
            [b'-', b'-', ..] => {}
            [b'-' | b'+', flags @ ..] if !flags.is_empty() => {
                if arg.first() == Some(&b'-') && flags.contains(&b'c') {
                    return true;
                }
            }
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop<'a>(exe: &'a str, args: &'a [&'a str], id: &'a str) -> Hop<'a, &'a [&'a str]> {
        Hop {
            executable: exe.as_bytes(),
            args,
            entity_id: id,
        }
    }

    #[test]
    fn wrappers_are_shells_run_with_c() {
        let w = |exe: &str, args: &[&str]| is_command_wrapper(exe.as_bytes(), args);
        assert!(w("/bin/sh", &["sh", "-c", "whoami 2>/dev/null"]));
        assert!(w("/usr/bin/bash", &["bash", "-lc", "id"]));
        assert!(w("/usr/bin/bash", &["bash", "--norc", "-e", "-c", "id"]));
        assert!(w("/bin/dash", &["sh", "-o", "errexit", "-c", "id"]));
        assert!(!w("/usr/bin/bash", &["bash", "script.sh", "-c"]));
        assert!(!w("/usr/bin/bash", &["bash", "-i"]));
        assert!(!w("/usr/bin/bash", &["bash"]));
        assert!(!w("/usr/bin/perl", &["perl", "-c", "x.pl"]));
        assert!(!w("/bin/sh", &["sh", "+c"]));
    }

    #[test]
    fn the_walk_looks_through_wrappers_and_copies_of_itself() {
        let perl = hop("/usr/bin/perl", &["perl", "-e", "..."], "perl");
        let sh = hop("/bin/sh", &["sh", "-c", "id"], "sh");
        assert_eq!(launcher(None, [sh, perl]), Some("perl"));

        let script = hop("/usr/bin/bash", &["bash", "run.sh"], "script");
        let tar = hop("/usr/bin/tar", &["tar", "-czf", "/tmp/a.tgz", "."], "tar");
        assert_eq!(
            launcher(Some(b"/usr/bin/tar"), [tar, script]),
            Some("script")
        );
        // A bash script run by a bash script: the child exec'd, it is not a forked copy.
        let outer = hop("/usr/bin/bash", &["bash", "outer.sh"], "outer");
        assert_eq!(launcher(None, [outer]), Some("outer"));
        // `cat <&3 > file` in `bash -c`: a forked bash opens the file before exec'ing cat. Its
        // parent (same program, and a wrapper) is skipped, the script above it is not.
        let wrapper = hop("/usr/bin/bash", &["bash", "-c", "cat <&3 >f"], "wrapper");
        let script = hop("/usr/bin/bash", &["bash", "run.sh"], "script");
        let up = hop("/usr/bin/python3", &["python3", "harness.py"], "harness");
        assert_eq!(
            launcher(Some(b"/usr/bin/bash"), [wrapper, script, up]),
            Some("script")
        );

        let script = hop("/usr/bin/bash", &["bash", "run.sh"], "script");
        assert_eq!(launcher(None, [script]), Some("script"));

        let outer = hop("/bin/sh", &["sh", "-c", "x"], "outer");
        let inner = hop("/bin/sh", &["sh", "-c", "y"], "inner");
        assert_eq!(launcher(None, [inner, outer]), Some("outer"));

        let none: [Hop<'_, &[&str]>; 0] = [];
        assert_eq!(launcher(None, none), None);
    }
}
