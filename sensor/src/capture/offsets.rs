//! Builds the [`SensorConfig`] layout part: tracepoint field offsets from tracefs `format` files
//! and kernel struct member offsets from the running kernel's BTF.

use sensor_common::{ABSENT, KernelOffsets, REGS_WINDOW_WORDS, SyscallRegs, TracepointOffsets};
use thiserror::Error;

use super::btf::{Btf, BtfError};
use super::tracefs::{Format, TracefsError};

/// The `sys_exit_*` tracepoints whose `ret` the programs read at one shared offset.
const SYS_EXITS: [&str; 7] = [
    "sys_exit_execve",
    "sys_exit_execveat",
    "sys_exit_connect",
    "sys_exit_accept",
    "sys_exit_accept4",
    "sys_exit_openat",
    "sys_exit_openat2",
];

/// Legacy syscalls that only some architectures have (x86-64 does, arm64 does not). Their
/// tracepoints are attached when present; the `at` variants cover the rest.
pub const LEGACY_SYSCALLS: [&str; 2] = ["sys_exit_open", "sys_exit_creat"];

/// Whether the running kernel has the syscall tracepoint `name`.
pub fn has_syscall_tracepoint(name: &str) -> bool {
    super::tracefs::root()
        .map(|root| root.join("events/syscalls").join(name).is_dir())
        .unwrap_or(false)
}

/// Why the layouts could not be determined.
#[derive(Debug, Error)]
pub enum OffsetsError {
    /// A tracepoint format was missing or incomplete.
    #[error(transparent)]
    Tracefs(#[from] TracefsError),
    /// Kernel BTF was missing or lacked a member.
    #[error(transparent)]
    Btf(#[from] BtfError),
    /// The `sys_exit_*` tracepoints disagree on where `ret` is.
    #[error("sys_exit tracepoints place `ret` at different offsets ({0} and {1})")]
    RetMismatch(u32, u32),
    /// The syscall argument registers are not within one small window of `struct pt_regs`.
    #[error(
        "struct pt_regs holds the syscall argument registers at offsets {0:?}, not within {REGS_WINDOW_WORDS} aligned words: this architecture's layout is not supported"
    )]
    RegsLayout([u32; 4]),
}

/// Tracepoint field offsets from tracefs.
pub fn tracepoints() -> Result<TracepointOffsets, OffsetsError> {
    let sys = |name: &str| Format::read("syscalls", name);
    let exec = Format::read("sched", "sched_process_exec")?;
    let exit = Format::read("sched", "sched_process_exit")?;
    let mut ret = None;
    let legacy_exits = ["sys_exit_open", "sys_exit_creat"]
        .into_iter()
        .filter(|name| has_syscall_tracepoint(name));
    for name in SYS_EXITS.into_iter().chain(legacy_exits) {
        let offset = sys(name)?.offset("ret")?;
        match ret {
            Some(r) if r != offset => return Err(OffsetsError::RetMismatch(r, offset)),
            _ => ret = Some(offset),
        }
    }
    Ok(TracepointOffsets {
        exec_filename_loc: exec.offset("filename")?,
        sys_exit_ret: ret.unwrap_or(0),
        exit_group_dead: exit.offset("group_dead").unwrap_or(ABSENT),
        _pad: 0,
    })
}

/// Where a syscall's first four arguments sit in `struct pt_regs`, from BTF. The registers are
/// the architecture's syscall calling convention; only x86-64's is known here, and another
/// architecture gets an error naming what is missing rather than misread arguments.
pub fn syscall_regs(btf: &Btf) -> Result<SyscallRegs, OffsetsError> {
    const X86_64: [&str; 4] = ["di", "si", "dx", "r10"];
    let mut offsets = [0u32; 4];
    for (offset, register) in offsets.iter_mut().zip(X86_64) {
        *offset = btf.member_offset("pt_regs", register)?;
    }
    regs_window(offsets).ok_or(OffsetsError::RegsLayout(offsets))
}

/// The one window of [`REGS_WINDOW_WORDS`] aligned words that holds all four `offsets`.
fn regs_window(offsets: [u32; 4]) -> Option<SyscallRegs> {
    let base = offsets.iter().copied().min()?;
    let mut word = [0u8; 4];
    for (slot, offset) in word.iter_mut().zip(offsets) {
        let delta = offset - base;
        if delta % 8 != 0 || delta as usize / 8 >= REGS_WINDOW_WORDS {
            return None;
        }
        *slot = u8::try_from(delta / 8).ok()?;
    }
    Some(SyscallRegs {
        base,
        word,
        _pad: [0; 2],
    })
}

/// Kernel struct member offsets from BTF.
pub fn kernel(btf: &Btf) -> Result<KernelOffsets, OffsetsError> {
    let m = |s: &str, p: &str| btf.member_offset(s, p);
    let opt = |s: &str, p: &str| btf.optional_offset(s, p).unwrap_or(ABSENT);
    Ok(KernelOffsets {
        task_tgid: m("task_struct", "tgid")?,
        task_pid: m("task_struct", "pid")?,
        task_real_parent: m("task_struct", "real_parent")?,
        task_files: m("task_struct", "files")?,
        task_mm: m("task_struct", "mm")?,
        task_cred: m("task_struct", "cred")?,
        task_exit_code: m("task_struct", "exit_code")?,
        task_loginuid: opt("task_struct", "loginuid"),
        files_fdt: m("files_struct", "fdt")?,
        fdt_max_fds: m("fdtable", "max_fds")?,
        fdt_fd: m("fdtable", "fd")?,
        file_inode: m("file", "f_inode")?,
        file_private_data: m("file", "private_data")?,
        file_dentry: m("file", "f_path.dentry")?,
        inode_mode: m("inode", "i_mode")?,
        inode_rdev: m("inode", "i_rdev")?,
        inode_nlink: m("inode", "__i_nlink")?,
        dentry_name: m("dentry", "d_name.name")?,
        mm_exe_file: m("mm_struct", "exe_file")?,
        mm_arg_start: m("mm_struct", "arg_start")?,
        mm_arg_end: m("mm_struct", "arg_end")?,
        mm_start_stack: m("mm_struct", "start_stack")?,
        cred_euid: m("cred", "euid")?,
        cred_egid: m("cred", "egid")?,
        socket_type: m("socket", "type")?,
        socket_sk: m("socket", "sk")?,
        sk_family: m("sock", "__sk_common.skc_family")?,
        sk_protocol: opt("sock", "sk_protocol"),
        sk_num: m("sock", "__sk_common.skc_num")?,
        sk_dport: m("sock", "__sk_common.skc_dport")?,
        sk_rcv_saddr: m("sock", "__sk_common.skc_rcv_saddr")?,
        sk_daddr: m("sock", "__sk_common.skc_daddr")?,
        sk_v6_rcv_saddr: opt("sock", "__sk_common.skc_v6_rcv_saddr"),
        sk_v6_daddr: opt("sock", "__sk_common.skc_v6_daddr"),
        file_vfsmount: opt("file", "f_path.mnt"),
        dentry_parent: opt("dentry", "d_parent"),
        dentry_name_len: opt("dentry", "d_name.len"),
        vfsmount_root: opt("vfsmount", "mnt_root"),
        mount_mnt: opt("mount", "mnt"),
        mount_parent: opt("mount", "mnt_parent"),
        mount_mountpoint: opt("mount", "mnt_mountpoint"),
        task_fs: opt("task_struct", "fs"),
        fs_pwd_dentry: opt("fs_struct", "pwd.dentry"),
        fs_pwd_mnt: opt("fs_struct", "pwd.mnt"),
        task_signal: opt("task_struct", "signal"),
        signal_pids: opt("signal_struct", "pids"),
        pid_numbers: opt("pid", "numbers"),
        task_start_boottime: opt("task_struct", "start_boottime"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_kernel_offsets_are_found() {
        let Ok(btf) = Btf::from_sys_fs() else {
            eprintln!("SKIPPED: no kernel BTF");
            return;
        };
        let k = kernel(&btf).expect("every required member exists");
        assert_ne!(k.task_tgid, k.task_pid);
        assert_ne!(k.sk_rcv_saddr, k.sk_daddr);
        assert_ne!(
            k.mount_parent,
            sensor_common::ABSENT,
            "path resolution offsets"
        );
        assert_ne!(k.fs_pwd_dentry, k.fs_pwd_mnt);
        for offset in [
            k.task_signal,
            k.signal_pids,
            k.pid_numbers,
            k.task_start_boottime,
        ] {
            assert_ne!(
                offset,
                sensor_common::ABSENT,
                "group, session and start time"
            );
        }
    }

    #[test]
    fn x86_64_syscall_registers_fit_one_window() {
        // pt_regs on x86-64: r10 at 56, dx at 96, si at 104, di at 112.
        let regs = regs_window([112, 104, 96, 56]).expect("fits");
        assert_eq!(regs.base, 56);
        assert_eq!(regs.word, [7, 6, 5, 0]);
        // Too far apart, or not word-aligned: refused, never misread.
        assert!(regs_window([0, 8, 16, 64]).is_none());
        assert!(regs_window([0, 8, 16, 20]).is_none());
        if let Ok(btf) = Btf::from_sys_fs() {
            let running = syscall_regs(&btf).expect("this kernel's pt_regs");
            assert_eq!((running.base, running.word), (56, [7, 6, 5, 0]));
        }
    }
}
