//! Absolute paths of relative opens, built in the kernel when the open is captured (at syscall
//! exit, while the caller's dirfd and working directory are still the ones it used).
//!
//! `openat(dirfd, "id_rsa")` names a file only together with the directory behind `dirfd`, and
//! programs like tar and grep close that fd (or exit) within microseconds, long before userspace
//! could read `/proc/PID/fd/N`. So the directory is resolved here, from the dirfd's (or the
//! working directory's) dentry and mount, the way the kernel's own `d_path` walks: up the
//! `d_parent` chain, hopping to the parent mount at each mount root, until the root of the
//! caller's mount namespace.
//!
//! Limits: no locks are taken, so a rename racing the walk can yield a mixed path (as
//! `/proc/PID/fd` would); the path is relative to the mount namespace's root, not to a
//! `chroot`; at most [`DEPTH`] steps and [`OPEN_DIR_CAP`] bytes, beyond which nothing is
//! resolved here (userspace then falls back to /proc); a walk that ends at a detached dentry
//! root is not claimed as resolved either, but a directory that was removed still resolves to
//! its former path, and one under a lazily unmounted tree to its path inside that tree
//! (`/proc` would add " (deleted)" or say "unreachable").
//!
//! Cost: only relative opens walk. `scripts/open-relative-cost.sh` measured about 1.0-1.2 µs
//! more per run for 6 names and 2 mount crossings (1570 vs 531 ns/run, loaded shared VM, when
//! the walk still ran in `sys_enter_openat`); in exchange userspace no longer reads
//! `/proc/PID/task/TID/cwd` or `/proc/PID/fd/N` (a syscall and an allocation) for those events.
//! Exec uses the same walk for the new program's working directory.

use aya_ebpf::helpers::generated::bpf_probe_read_kernel;
use sensor_common::{ABSENT, AT_FDCWD, KernelOffsets, OPEN_DIR_CAP, OPEN_DIR_RESOLVED, OpenArgs};

use crate::{
    kernel::{current_task, read, task_file},
    maps::{PATH_SCRATCH, PathScratch},
};

/// Most dentry and mount steps of one walk.
const DEPTH: usize = 32;
const DIR_MASK: usize = OPEN_DIR_CAP - 1;
/// Reads of a kernel-side length are masked with this so the verifier can bound them.
const PATH_MASK: usize = sensor_common::OPEN_PATH_CAP - 1;

/// Makes `args.path` absolute when it is relative and the directory can be resolved: `path`
/// becomes `DIR/PATH`, `dir_len` the length of `DIR` and [`OPEN_DIR_RESOLVED`] is set.
#[inline(always)]
pub fn resolve_relative(k: &KernelOffsets, args: &mut OpenArgs) {
    if args.path_len == 0 || args.path[0] == b'/' || !enabled(k) {
        return;
    }
    let _ = resolve(k, args);
}

/// Builds the working directory of the current task in the per-CPU path scratch and returns
/// where it starts there and its length (0 for the root directory).
#[inline(always)]
pub fn working_directory(k: &KernelOffsets) -> Option<(usize, usize)> {
    if !enabled(k) {
        return None;
    }
    let fs: u64 = read(current_task(), k.task_fs)?;
    let dentry: u64 = read(fs, k.fs_pwd_dentry)?;
    let vfsmount: u64 = read(fs, k.fs_pwd_mnt)?;
    let scratch = PATH_SCRATCH.get_ptr_mut(0)?;
    let start = directory(k, dentry, vfsmount, scratch)?;
    Some((start, OPEN_DIR_CAP - start))
}

/// The scratch buffer [`working_directory`] writes into.
#[inline(always)]
pub fn scratch_buf() -> Option<*const u8> {
    let scratch = PATH_SCRATCH.get_ptr_mut(0)?;
    // SAFETY: per-CPU map value, ours for this program run.
    Some(unsafe { (*scratch).buf.as_ptr() })
}

#[inline(always)]
fn enabled(k: &KernelOffsets) -> bool {
    k.file_vfsmount != ABSENT
        && k.dentry_parent != ABSENT
        && k.dentry_name_len != ABSENT
        && k.vfsmount_root != ABSENT
        && k.mount_mnt != ABSENT
        && k.mount_parent != ABSENT
        && k.mount_mountpoint != ABSENT
        && k.task_fs != ABSENT
        && k.fs_pwd_dentry != ABSENT
        && k.fs_pwd_mnt != ABSENT
}

#[inline(always)]
fn resolve(k: &KernelOffsets, args: &mut OpenArgs) -> Option<()> {
    let task = current_task();
    let (dentry, vfsmount) = if args.dfd == AT_FDCWD {
        let fs: u64 = read(task, k.task_fs)?;
        (
            read::<u64>(fs, k.fs_pwd_dentry)?,
            read::<u64>(fs, k.fs_pwd_mnt)?,
        )
    } else if args.dfd >= 0 {
        let file = task_file(k, task, args.dfd as u32)?;
        (
            read::<u64>(file, k.file_dentry)?,
            read::<u64>(file, k.file_vfsmount)?,
        )
    } else {
        return None;
    };
    let scratch = PATH_SCRATCH.get_ptr_mut(0)?;
    let start = directory(k, dentry, vfsmount, scratch)?;
    // SAFETY: per-CPU scratch slot, used by this program run only.
    let buf = unsafe { (*scratch).buf.as_mut_ptr() };
    let dir_len = OPEN_DIR_CAP - start;
    let rel_len = args.path_len as usize;
    let total = dir_len + 1 + rel_len;
    if total + 1 > PATH_MASK {
        return None;
    }
    // SAFETY: `OPEN_DIR_CAP` < the scratch size.
    unsafe { *buf.add(OPEN_DIR_CAP) = b'/' };
    // The relative path and its NUL after the slash, then the whole back over `args.path`.
    // SAFETY: sizes are masked to `PATH_MASK`, inside both buffers (see `PathScratch`).
    let copied = unsafe {
        bpf_probe_read_kernel(
            buf.add(OPEN_DIR_CAP + 1).cast(),
            ((rel_len + 1) & PATH_MASK) as u32,
            args.path.as_ptr().cast(),
        ) == 0
            && bpf_probe_read_kernel(
                args.path.as_mut_ptr().cast(),
                ((total + 1) & PATH_MASK) as u32,
                buf.add(start & DIR_MASK).cast(),
            ) == 0
    };
    if !copied {
        return None;
    }
    args.path_len = total as u32;
    args.dir_len = dir_len as u32;
    args.flags2 |= OPEN_DIR_RESOLVED;
    Some(())
}

/// Writes the absolute path of `dentry` on `vfsmount` so that it ends at `buf[OPEN_DIR_CAP]`
/// (exclusive) and returns where it starts; the root directory is the empty string.
///
/// The walk's state lives in the per-CPU map value and is read and written volatile: the
/// verifier does not track map memory, so every iteration starts from the same abstract state
/// whichever way (dentry or mount step) the previous ones went, and it verifies the loop in
/// time linear in [`DEPTH`] instead of exploring every combination of steps.
#[inline(always)]
fn directory(
    k: &KernelOffsets,
    dentry: u64,
    vfsmount: u64,
    scratch: *mut PathScratch,
) -> Option<usize> {
    let root: u64 = read(vfsmount, k.vfsmount_root)?;
    // SAFETY: per-CPU map value, ours for this program run.
    let walk = unsafe { &raw mut (*scratch).walk };
    let set = |field: *mut u64, value: u64| {
        // SAFETY: a field of the map value above.
        unsafe { core::ptr::write_volatile(field, value) }
    };
    // SAFETY: as above.
    unsafe {
        set(&raw mut (*walk).dentry, dentry);
        set(
            &raw mut (*walk).mount,
            vfsmount.wrapping_sub(k.mount_mnt as u64),
        );
        set(&raw mut (*walk).root, root);
        set(&raw mut (*walk).pos, OPEN_DIR_CAP as u64);
    }
    for _ in 0..DEPTH {
        match step(k, scratch) {
            Step::More => {}
            Step::Done => {
                // SAFETY: as above.
                let pos = unsafe { core::ptr::read_volatile(&raw const (*walk).pos) } as usize;
                return if pos <= OPEN_DIR_CAP { Some(pos) } else { None };
            }
            Step::Fail => return None,
        }
    }
    None
}

enum Step {
    More,
    Done,
    Fail,
}

/// One step up: to the parent dentry (prepending the name), or from a mount's root to its
/// mountpoint in the parent mount.
#[inline(always)]
fn step(k: &KernelOffsets, scratch: *mut PathScratch) -> Step {
    // SAFETY: per-CPU map value, ours for this program run; volatile, see `directory`.
    let (walk, buf) = unsafe { (&raw mut (*scratch).walk, (*scratch).buf.as_mut_ptr()) };
    let get = |field: *const u64| unsafe { core::ptr::read_volatile(field) };
    let set = |field: *mut u64, value: u64| unsafe { core::ptr::write_volatile(field, value) };
    // SAFETY: fields of the map value.
    let (dentry, mount, root, pos) = unsafe {
        (
            get(&raw const (*walk).dentry),
            get(&raw const (*walk).mount),
            get(&raw const (*walk).root),
            get(&raw const (*walk).pos) as usize,
        )
    };
    if dentry == root {
        let Some(parent) = read::<u64>(mount, k.mount_parent) else {
            return Step::Fail;
        };
        if parent == mount {
            return Step::Done;
        }
        let (Some(point), Some(parent_root)) = (
            read::<u64>(mount, k.mount_mountpoint),
            read::<u64>(parent + k.mount_mnt as u64, k.vfsmount_root),
        ) else {
            return Step::Fail;
        };
        // SAFETY: fields of the map value.
        unsafe {
            set(&raw mut (*walk).dentry, point);
            set(&raw mut (*walk).mount, parent);
            set(&raw mut (*walk).root, parent_root);
        }
        return Step::More;
    }
    let (Some(parent), Some(len), Some(name)) = (
        read::<u64>(dentry, k.dentry_parent),
        read::<u32>(dentry, k.dentry_name_len),
        read::<u64>(dentry, k.dentry_name),
    ) else {
        return Step::Fail;
    };
    let len = len as usize;
    // A root that is not its mount's root (detached or unreachable), or no room left.
    if parent == dentry || len == 0 || pos > OPEN_DIR_CAP || len >= pos {
        return Step::Fail;
    }
    let at = pos - len;
    // SAFETY: `at & DIR_MASK` + `len & DIR_MASK` < 2 * OPEN_DIR_CAP <= the scratch size.
    let copied = unsafe {
        bpf_probe_read_kernel(
            buf.add(at & DIR_MASK).cast(),
            (len & DIR_MASK) as u32,
            name as *const _,
        ) == 0
    };
    if !copied {
        return Step::Fail;
    }
    // SAFETY: as above; fields of the map value.
    unsafe {
        *buf.add((at - 1) & DIR_MASK) = b'/';
        set(&raw mut (*walk).dentry, parent);
        set(&raw mut (*walk).pos, (at - 1) as u64);
    }
    Step::More
}
