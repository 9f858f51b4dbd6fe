//! Settings userspace hands to the kernel side before attaching: tracepoint field offsets (from
//! tracefs `format` files), kernel struct member offsets (from the running kernel's BTF) and
//! filter settings. Nothing here is hard-coded for one kernel.

/// Offsets of the tracepoint fields the programs read, from tracefs `format` files.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TracepointOffsets {
    /// `sched_process_exec`: `__data_loc char[] filename`.
    pub exec_filename_loc: u32,
    /// `ret` of every `sys_exit_*` tracepoint used (checked to be the same for all).
    pub sys_exit_ret: u32,
    /// `sched_process_exit`: `group_dead`, or [`ABSENT`] on kernels without it.
    pub exit_group_dead: u32,
    /// Keeps the size a multiple of 8.
    pub _pad: u32,
}

/// Marks an optional offset the running kernel does not have.
pub const ABSENT: u32 = u32::MAX;

/// Byte offsets of kernel struct members, from `/sys/kernel/btf/vmlinux`. Optional members
/// are [`ABSENT`] when the kernel lacks them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelOffsets {
    /// `task_struct.tgid`.
    pub task_tgid: u32,
    /// `task_struct.pid`.
    pub task_pid: u32,
    /// `task_struct.real_parent`.
    pub task_real_parent: u32,
    /// `task_struct.files`.
    pub task_files: u32,
    /// `task_struct.mm`.
    pub task_mm: u32,
    /// `task_struct.cred`.
    pub task_cred: u32,
    /// `task_struct.exit_code`.
    pub task_exit_code: u32,
    /// `task_struct.loginuid` (optional: `CONFIG_AUDIT`).
    pub task_loginuid: u32,
    /// `files_struct.fdt`.
    pub files_fdt: u32,
    /// `fdtable.max_fds`.
    pub fdt_max_fds: u32,
    /// `fdtable.fd`.
    pub fdt_fd: u32,
    /// `file.f_inode`.
    pub file_inode: u32,
    /// `file.private_data`.
    pub file_private_data: u32,
    /// `file.f_path.dentry`.
    pub file_dentry: u32,
    /// `inode.i_mode`.
    pub inode_mode: u32,
    /// `inode.i_rdev`.
    pub inode_rdev: u32,
    /// `inode.__i_nlink`.
    pub inode_nlink: u32,
    /// `dentry.d_name.name`.
    pub dentry_name: u32,
    /// `mm_struct.exe_file`.
    pub mm_exe_file: u32,
    /// `mm_struct.arg_start` (start of the argv strings on the new stack).
    pub mm_arg_start: u32,
    /// `mm_struct.arg_end`.
    pub mm_arg_end: u32,
    /// `mm_struct.start_stack` (where `argc` sits once an exec has set up the stack).
    pub mm_start_stack: u32,
    /// `cred.euid`.
    pub cred_euid: u32,
    /// `cred.egid`.
    pub cred_egid: u32,
    /// `socket.type`.
    pub socket_type: u32,
    /// `socket.sk`.
    pub socket_sk: u32,
    /// `sock.__sk_common.skc_family`.
    pub sk_family: u32,
    /// `sock.sk_protocol` (optional: a bitfield on old kernels).
    pub sk_protocol: u32,
    /// `sock.__sk_common.skc_num` (local port, host order).
    pub sk_num: u32,
    /// `sock.__sk_common.skc_dport` (remote port, network order).
    pub sk_dport: u32,
    /// `sock.__sk_common.skc_rcv_saddr`.
    pub sk_rcv_saddr: u32,
    /// `sock.__sk_common.skc_daddr`.
    pub sk_daddr: u32,
    /// `sock.__sk_common.skc_v6_rcv_saddr` (optional: `CONFIG_IPV6`).
    pub sk_v6_rcv_saddr: u32,
    /// `sock.__sk_common.skc_v6_daddr` (optional: `CONFIG_IPV6`).
    pub sk_v6_daddr: u32,
    /// `file.f_path.mnt` (optional: path resolution is off without it).
    pub file_vfsmount: u32,
    /// `dentry.d_parent` (optional: path resolution is off without it).
    pub dentry_parent: u32,
    /// `dentry.d_name.len` (optional: path resolution is off without it).
    pub dentry_name_len: u32,
    /// `vfsmount.mnt_root` (optional: path resolution is off without it).
    pub vfsmount_root: u32,
    /// `mount.mnt` (the `vfsmount` embedded in a `struct mount`) (optional: path resolution is off without it).
    pub mount_mnt: u32,
    /// `mount.mnt_parent` (optional: path resolution is off without it).
    pub mount_parent: u32,
    /// `mount.mnt_mountpoint` (optional: path resolution is off without it).
    pub mount_mountpoint: u32,
    /// `task_struct.fs` (optional: path resolution is off without it).
    pub task_fs: u32,
    /// `fs_struct.pwd.dentry` (optional: path resolution is off without it).
    pub fs_pwd_dentry: u32,
    /// `fs_struct.pwd.mnt` (optional: path resolution is off without it).
    pub fs_pwd_mnt: u32,
    /// `task_struct.signal` (optional: userspace reads group and session from /proc without
    /// it).
    pub task_signal: u32,
    /// `signal_struct.pids` (an array of `struct pid *` indexed by `enum pid_type`; optional).
    pub signal_pids: u32,
    /// `pid.numbers` (`numbers[0].nr` is the id in the initial namespace; optional).
    pub pid_numbers: u32,
    /// `task_struct.start_boottime` (optional: userspace reads the start time from /proc
    /// without it).
    pub task_start_boottime: u32,
}

/// Global settings, written into the eBPF object's `CONFIG` global at load time.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SensorConfig {
    /// The sensor's own process id (tgid), whose events are never reported.
    pub self_pid: u32,
    /// When non-zero, only this process id is reported (a debugging and testing aid).
    pub only_pid: u32,
    /// Number of valid entries in the `OPEN_PREFIXES` map.
    pub open_prefix_count: u32,
    /// Reserved, zero.
    pub _pad: u32,
    /// Identical opens within this many jiffies (kernel timer ticks) collapse into one; 0
    /// disables. Ticks, because the tick counter costs the hook a fraction of a clock read.
    pub open_collapse_jiffies: u64,
    /// The ring buffer wakes its reader only when it holds at least this many bytes; below
    /// that userspace polls on a short timer. 0 wakes the reader for every record.
    pub wakeup_bytes: u64,
    /// At most one such wake-up per this many jiffies, across all CPUs (0: no limit).
    pub wakeup_gap_jiffies: u64,
    /// Tracepoint field offsets.
    pub tp: TracepointOffsets,
    /// Kernel struct member offsets.
    pub k: KernelOffsets,
    /// Where the current syscall's arguments sit in its saved `struct pt_regs`.
    pub regs: SyscallRegs,
}

/// Where a syscall's first four arguments sit in its saved `struct pt_regs`, from BTF (on
/// x86_64: `di`, `si`, `dx`, `r10`), all within [`REGS_WINDOW_WORDS`] words from `base`. Exit
/// programs read them there instead of staging the arguments at entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SyscallRegs {
    /// Byte offset in `struct pt_regs` where the window starts.
    pub base: u32,
    /// Index in the window (in 8-byte words, below [`REGS_WINDOW_WORDS`]) of argument `i`.
    pub word: [u8; 4],
    /// Reserved, zero.
    pub _pad: [u32; 2],
}

/// Words of `struct pt_regs`, from `SyscallRegs::base`, that hold the syscall arguments.
pub const REGS_WINDOW_WORDS: usize = 8;

impl SensorConfig {
    /// All zero: "not configured" (every program then does nothing).
    pub const ZERO: SensorConfig = SensorConfig {
        self_pid: 0,
        only_pid: 0,
        open_prefix_count: 0,
        _pad: 0,
        open_collapse_jiffies: 0,
        wakeup_bytes: 0,
        wakeup_gap_jiffies: 0,
        tp: TracepointOffsets {
            exec_filename_loc: 0,
            sys_exit_ret: 0,
            exit_group_dead: 0,
            _pad: 0,
        },
        k: KernelOffsets {
            task_tgid: 0,
            task_pid: 0,
            task_real_parent: 0,
            task_files: 0,
            task_mm: 0,
            task_cred: 0,
            task_exit_code: 0,
            task_loginuid: 0,
            files_fdt: 0,
            fdt_max_fds: 0,
            fdt_fd: 0,
            file_inode: 0,
            file_private_data: 0,
            file_dentry: 0,
            inode_mode: 0,
            inode_rdev: 0,
            inode_nlink: 0,
            dentry_name: 0,
            mm_exe_file: 0,
            mm_arg_start: 0,
            mm_arg_end: 0,
            mm_start_stack: 0,
            cred_euid: 0,
            cred_egid: 0,
            socket_type: 0,
            socket_sk: 0,
            sk_family: 0,
            sk_protocol: 0,
            sk_num: 0,
            sk_dport: 0,
            sk_rcv_saddr: 0,
            sk_daddr: 0,
            sk_v6_rcv_saddr: 0,
            sk_v6_daddr: 0,
            file_vfsmount: 0,
            dentry_parent: 0,
            dentry_name_len: 0,
            vfsmount_root: 0,
            mount_mnt: 0,
            mount_parent: 0,
            mount_mountpoint: 0,
            task_fs: 0,
            fs_pwd_dentry: 0,
            fs_pwd_mnt: 0,
            task_signal: 0,
            signal_pids: 0,
            pid_numbers: 0,
            task_start_boottime: 0,
        },
        regs: SyscallRegs {
            base: 0,
            word: [0; 4],
            _pad: [0; 2],
        },
    };
}

/// Most path prefixes the open filter holds.
pub const OPEN_PREFIX_MAX: u32 = 16;
/// Longest prefix, in bytes (compared as eight 8-byte words).
pub const OPEN_PREFIX_LEN: usize = 64;

/// One prefix of the read-only open filter, as words with a mask so the kernel compares eight
/// bytes at a time.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenPrefix {
    /// Prefix length in bytes (1..=[`OPEN_PREFIX_LEN`]).
    pub len: u32,
    /// Number of words to compare (`len.div_ceil(8)`).
    pub words: u32,
    /// The prefix bytes, zero-padded, as native-endian words.
    pub bytes: [u64; OPEN_PREFIX_LEN / 8],
    /// Per word, the mask of bytes that belong to the prefix.
    pub mask: [u64; OPEN_PREFIX_LEN / 8],
}

const _: () = assert!(core::mem::size_of::<TracepointOffsets>() == 16);
const _: () = assert!(core::mem::size_of::<KernelOffsets>() == 192);
const _: () = assert!(core::mem::size_of::<SyscallRegs>() == 16);
const _: () = assert!(core::mem::size_of::<SensorConfig>() == 40 + 16 + 192 + 16);
const _: () = assert!(core::mem::size_of::<OpenPrefix>() == 8 + OPEN_PREFIX_LEN * 2);
